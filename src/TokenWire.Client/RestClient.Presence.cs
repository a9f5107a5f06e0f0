using System.Globalization;
using System.Text;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Presence over REST (reference §5.6): the current members and presence history, both paginated.</summary>
public sealed partial class RestClient
{
    /// <summary>
    /// A page of the channel's current members (action PRESENT), optionally only those with a clientId or a
    /// connectionId (<c>GET /channels/{name}/presence</c>).
    /// </summary>
    public Task<PaginatedResult<PresenceMessage>> PresenceAsync(string channel, PresenceRequest? request = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        request ??= PresenceRequest.Default;
        var query = new StringBuilder();
        void Add(string name, string value)
        {
            query.Append(query.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        if (request.Limit is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(request));
            Add("limit", limit.ToString(CultureInfo.InvariantCulture));
        }

        if (request.ClientId is { } clientId)
        {
            Add("clientId", clientId);
        }

        if (request.ConnectionId is { } connectionId)
        {
            Add("connectionId", connectionId);
        }

        return FetchPageAsync(ChannelPath(channel) + "/presence", query.ToString(), ToPresence, cancellationToken);
    }

    /// <summary>A page of the channel's presence events (<c>GET /channels/{name}/presence/history</c>).</summary>
    /// <exception cref="ArgumentException"><see cref="HistoryRequest.UntilAttach"/> is set: use <see cref="RealtimePresence.HistoryAsync"/>.</exception>
    public Task<PaginatedResult<PresenceMessage>> PresenceHistoryAsync(string channel, HistoryRequest? request = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        if (request?.UntilAttach == true)
        {
            throw new ArgumentException("UntilAttach needs an attached realtime channel: use RealtimePresence.HistoryAsync.", nameof(request));
        }

        return PresenceHistoryCoreAsync(channel, request ?? HistoryRequest.Default, fromSerial: null, cancellationToken);
    }

    internal Task<PaginatedResult<PresenceMessage>> PresenceHistoryCoreAsync(string channel, HistoryRequest request, string? fromSerial, CancellationToken cancellationToken) =>
        FetchPageAsync(ChannelPath(channel) + "/presence/history", HistoryQuery(request, fromSerial), ToPresence, cancellationToken);

    /// <summary>Presence bodies share the message wire shape and payload rules, so they are read as messages.</summary>
    private static PresenceMessage ToPresence(Message message) => PresenceMessage.FromMessage(message);
}
