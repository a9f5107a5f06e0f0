namespace TokenWire.Client;

/// <summary>
/// One page of a paginated REST resource. The next page is fetched with the query the server put in its
/// <c>Link: &lt;./messages?query&gt;; rel="next"</c> header, which replaces the original query (reference §5.5).
/// </summary>
public sealed class PaginatedResult<T>
{
    private readonly Func<string, CancellationToken, Task<PaginatedResult<T>>> _fetch;
    private readonly string? _nextQuery;

    internal PaginatedResult(IReadOnlyList<T> items, string? nextQuery, Func<string, CancellationToken, Task<PaginatedResult<T>>> fetch)
    {
        Items = items;
        _nextQuery = nextQuery;
        _fetch = fetch;
    }

    public IReadOnlyList<T> Items { get; }

    public bool HasNext => _nextQuery is not null;

    public bool IsLast => _nextQuery is null;

    /// <summary>Fetches the next page. Check <see cref="HasNext"/> first: there is none on the last page.</summary>
    /// <exception cref="InvalidOperationException">This is the last page.</exception>
    public Task<PaginatedResult<T>> NextAsync(CancellationToken cancellationToken = default) =>
        _nextQuery is { } query
            ? _fetch(query, cancellationToken)
            : throw new InvalidOperationException("This is the last page: HasNext is false.");

    /// <summary>Every item of this page and all following ones, fetching pages as the enumeration reaches them.</summary>
    public async IAsyncEnumerable<T> ToAsyncEnumerable([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var page = this;
        while (true)
        {
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (!page.HasNext)
            {
                yield break;
            }

            page = await page.NextAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
