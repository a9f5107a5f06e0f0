using System.Text.RegularExpressions;

namespace TokenWire.Client.Internal;

/// <summary>
/// Parses <c>Link</c> headers the way ably-js does (reference §5.5): comma-separated entries of the form
/// <c>&lt;./WORD?QUERY&gt;; rel="NAME"</c>; only the query is used, and it replaces the original one.
/// </summary>
internal static partial class LinkHeader
{
    /// <summary>The query of the <c>rel="next"</c> link, or null when there is no next page.</summary>
    public static string? NextQuery(IEnumerable<string> headerValues)
    {
        foreach (var value in headerValues)
        {
            foreach (var entry in value.Split(','))
            {
                var match = Entry().Match(entry);
                if (match.Success && match.Groups["rel"].Value == "next")
                {
                    return match.Groups["query"].Value;
                }
            }
        }

        return null;
    }

    [GeneratedRegex("""^\s*<\./[A-Za-z0-9_]+\?(?<query>[^>]+)>;\s*rel="(?<rel>\w+)"\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex Entry();
}
