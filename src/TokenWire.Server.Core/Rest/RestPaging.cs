using System.Text.Json;

namespace TokenWire.Server.Rest;

/// <summary>One page of a paged REST list: its items, and whether the read found more after them.</summary>
public sealed record RestPage<T>(IReadOnlyList<T> Items, bool HasNext)
{
    /// <summary>The page's last item, which the next page's cursor is made from (only when <see cref="HasNext"/>).</summary>
    public T Last => Items[^1];
}

/// <summary>
/// How every paged REST list answers: read one item more than the limit, answer the limit's worth, and tell the
/// client (a <c>Link</c> header with <c>rel="next"</c>, as ably-js follows it) whether the extra item said there is more.
/// </summary>
public static class RestPaging
{
    /// <param name="fetch">Reads up to the given number of items from where the request's cursor points.</param>
    /// <param name="link">The page's <c>Link</c> header value.</param>
    /// <param name="write">Writes the page's items as the response body.</param>
    public static async Task WriteAsync<T>(HttpContext context, int limit, Func<int, ValueTask<IReadOnlyList<T>>> fetch, Func<RestPage<T>, string> link, Func<IReadOnlyList<T>, Task> write)
    {
        var fetched = await fetch(limit + 1).ConfigureAwait(false);
        var page = fetched.Count > limit ? new RestPage<T>([.. fetched.Take(limit)], HasNext: true) : new RestPage<T>(fetched, HasNext: false);
        context.Response.Headers.Link = link(page);
        await write(page.Items).ConfigureAwait(false);
    }

    /// <summary><see cref="WriteAsync"/> answering a JSON (or msgpack, as the request asks) array of <paramref name="writeItem"/>'s items.</summary>
    public static Task WriteArrayAsync<T>(HttpContext context, int limit, Func<int, ValueTask<IReadOnlyList<T>>> fetch, Func<RestPage<T>, string> link, Action<Utf8JsonWriter, T> writeItem) =>
        WriteAsync(context, limit, fetch, link, items => RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                writeItem(w, item);
            }

            w.WriteEndArray();
        }));
}
