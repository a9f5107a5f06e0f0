using System.Text;
using TokenWire.Protocol;

namespace TokenWire.Server.Channels;

/// <summary>
/// A channel name as a client addresses it, with Ably's optional qualifier prefix: <c>[?rewind=1&amp;delta=vcdiff]name</c>
/// carries channel params, <c>[filter=&lt;base64 expression&gt;]name</c> a subscription filter (<c>getDerived</c>), and
/// both combine as <c>[filter=…?rewind=1]name</c>. The channel attached, published to and stored is <see cref="Name"/>;
/// the params and the filter belong to the attachment made under <see cref="WireName"/>, which frames to the client carry.
/// Other qualifiers (<c>[meta]</c>, <c>[product:…]</c>) are refused with 40010.
/// </summary>
public sealed record QualifiedChannelName(string WireName, string Name, IReadOnlyDictionary<string, string>? Params, MessageFilter? Filter)
{
    private const string FilterPrefix = "filter=";

    public bool IsQualified => Params is not null || Filter is not null;

    /// <summary>Parses and validates <paramref name="wireName"/>: 40010 for a malformed name or qualifier, 40003 for a bad filter.</summary>
    public static bool TryParse(string? wireName, out QualifiedChannelName? result, out ErrorInfo? error)
    {
        result = null;
        error = null;
        try
        {
            result = Parse(wireName);
            return true;
        }
        catch (ProtocolException ex)
        {
            error = ex.Error;
            return false;
        }
    }

    /// <summary>As <see cref="TryParse"/>, throwing <see cref="ProtocolException"/>.</summary>
    public static QualifiedChannelName Parse(string? wireName)
    {
        if (wireName is null || !wireName.StartsWith('['))
        {
            ChannelNames.Validate(wireName);
            return new QualifiedChannelName(wireName!, wireName!, null, null);
        }

        var end = wireName.IndexOf(']');
        if (end < 0)
        {
            throw Invalid(wireName, "the qualifier has no closing ']'");
        }

        var name = wireName[(end + 1)..];
        ChannelNames.Validate(name);
        var qualifier = wireName.AsSpan(1, end - 1);
        var query = qualifier.IndexOf('?');
        var head = query < 0 ? qualifier : qualifier[..query];
        var parameters = query < 0 ? null : ParseParams(wireName, qualifier[(query + 1)..]);
        MessageFilter? filter = null;
        if (head.StartsWith(FilterPrefix, StringComparison.Ordinal))
        {
            filter = ParseFilter(wireName, head[FilterPrefix.Length..]);
        }
        else if (!head.IsEmpty)
        {
            throw Invalid(wireName, $"the qualifier '[{head}]' is not supported (only '[?params]' and '[filter=…]')");
        }
        else if (query < 0)
        {
            throw Invalid(wireName, "the qualifier '[]' is empty");
        }

        return new QualifiedChannelName(wireName, name, parameters, filter);
    }

    /// <summary>The channel a wire name addresses: the name without its qualifier (for a name already validated).</summary>
    public static string Unqualified(string wireName) =>
        wireName.StartsWith('[') && wireName.IndexOf(']') is var end and > 0 ? wireName[(end + 1)..] : wireName;

    /// <summary>The qualifier's params under the ATTACH's own (which win, being the more specific request).</summary>
    public IReadOnlyDictionary<string, string>? MergeParams(IReadOnlyDictionary<string, string>? attachParams)
    {
        if (Params is null || attachParams is null)
        {
            return attachParams ?? Params;
        }

        var merged = new Dictionary<string, string>(Params, StringComparer.Ordinal);
        foreach (var (key, value) in attachParams)
        {
            merged[key] = value;
        }

        return merged;
    }

    private static Dictionary<string, string> ParseParams(string wireName, ReadOnlySpan<char> query)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var range in query.Split('&'))
        {
            var pair = query[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(equals < 0 ? pair.ToString() : pair[..equals].ToString());
            if (key.Length == 0)
            {
                throw Invalid(wireName, "a qualifier param has no name");
            }

            parameters[key] = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].ToString());
        }

        return parameters;
    }

    /// <summary>ably-js sends standard base64; the URL-safe alphabet and missing padding are accepted too.</summary>
    private static MessageFilter ParseFilter(string wireName, ReadOnlySpan<char> encoded)
    {
        if (encoded.IsEmpty)
        {
            throw Invalid(wireName, "the filter is empty");
        }

        var normalized = new StringBuilder(encoded.Length + 3).Append(encoded).Replace('-', '+').Replace('_', '/');
        normalized.Append('=', (4 - (normalized.Length % 4)) % 4);
        var bytes = new byte[normalized.Length];
        string expression;
        try
        {
            if (!Convert.TryFromBase64String(normalized.ToString(), bytes, out var length))
            {
                throw Invalid(wireName, "the filter is not base64");
            }

            expression = new UTF8Encoding(false, true).GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(wireName, "the filter is not UTF-8 text");
        }

        return MessageFilter.TryParse(expression, out var filter, out var error) ? filter! : throw new ProtocolException(error!);
    }

    private static ProtocolException Invalid(string wireName, string reason) =>
        new(ErrorCodes.InvalidChannelName, $"Invalid channel name '{wireName}': {reason}");
}
