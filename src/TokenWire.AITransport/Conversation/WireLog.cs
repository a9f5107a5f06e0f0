using System.Text.Json.Nodes;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Conversation;

/// <summary>
/// Folds channel messages (history pages and live deliveries, in any mix) into one <see cref="WireMessage"/> per
/// serial, as the SDK's decoder does: versions are compared as strings and an older version never overwrites a newer
/// one, an update or a first contact replaces the data, an append extends it and replaces the extras. Not thread-safe.
/// </summary>
public sealed class WireLog
{
    private readonly Dictionary<string, WireMessage> _bySerial = new(StringComparer.Ordinal);

    public int Count => _bySerial.Count;

    public bool Contains(string serial) => _bySerial.ContainsKey(serial);

    public void Add(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Serial is not { Length: > 0 } serial || message.Action == MessageActions.Delete)
        {
            return;
        }

        var version = message.GetVersion()?.Serial ?? serial;
        var (transport, codec) = WireMessage.ReadHeaders(message);
        if (!_bySerial.TryGetValue(serial, out var current))
        {
            current = new WireMessage { Serial = serial };
            _bySerial[serial] = current;
        }
        else if (string.CompareOrdinal(version, current.VersionSerial) <= 0)
        {
            return;
        }

        if (message.Action == MessageActions.Append && current.VersionSerial.Length > 0)
        {
            current.Text = (current.Text ?? string.Empty) + (message.GetText() ?? string.Empty);
        }
        else
        {
            current.Text = message.GetText();
            current.Json = message.IsJson() ? JsonNode.Parse(message.Data.Text!) : null;
        }

        // The platform does not repeat name on appends; the create's name stands.
        current.Name = message.Name ?? current.Name;
        current.ClientId = message.ClientId ?? current.ClientId;
        current.VersionSerial = version;
        if (transport.Count > 0 || codec.Count > 0)
        {
            current.Transport = transport;
            current.Codec = codec;
        }
    }

    /// <summary>The folded messages in channel order (serials sort as strings).</summary>
    public IReadOnlyList<WireMessage> Ordered() => [.. _bySerial.Values.OrderBy(m => m.Serial, StringComparer.Ordinal)];
}
