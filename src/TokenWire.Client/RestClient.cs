using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// The Ably REST API (reference §5): publish, history, time and channel status over one <see cref="HttpClient"/>.
/// Thread-safe. A <see cref="RealtimeClient"/> exposes its own as <see cref="RealtimeClient.Rest"/>.
/// </summary>
public sealed partial class RestClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly AuthProvider _auth;
    private readonly IProtocolCodec _codec;
    private readonly ILogger _logger;
    private readonly string _accept;
    private readonly string _origin;

    public RestClient(RealtimeClientOptions options)
        : this(Validated(options), null, null)
    {
    }

    /// <summary>A REST client with a key and the default options.</summary>
    public RestClient(string key)
        : this(RealtimeClientOptions.Default with { Key = key })
    {
    }

    internal RestClient(RealtimeClientOptions options, AuthProvider? auth, HttpClient? http)
    {
        Options = options;
        _auth = auth ?? new AuthProvider(options);
        _ownsHttp = http is null;
        _http = http ?? CreateHttpClient(options);
        _origin = new UriBuilder(options.Tls ? "https" : "http", options.Endpoint, options.EffectivePort).Uri.GetLeftPart(UriPartial.Authority);
        _codec = options.UseBinaryProtocol ? ProtocolCodecs.MessagePackFromServer : ProtocolCodecs.JsonFromServer;
        _accept = options.UseBinaryProtocol ? RestBodies.MessagePackContentType : RestBodies.JsonContentType;
        _logger = options.LoggerFactory.CreateLogger<RestClient>();
    }

    public RealtimeClientOptions Options { get; }

    /// <summary>Publishes one message. <paramref name="data"/>: string, bytes, or JSON (see <see cref="Messages.Create"/>).</summary>
    public Task<PublishResult> PublishAsync(string channel, string? name, object? data, object? extras = null, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, [Messages.Create(name, data, extras, Options.JsonSerializerOptions)], cancellationToken);

    /// <summary>
    /// Publishes a batch in one request. Idempotent like ably-js (reference §3.5): when no message has an id, every
    /// message gets <c>base64(9 random bytes):index</c>, so a retried request is deduplicated by the server.
    /// </summary>
    public async Task<PublishResult> PublishAsync(string channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new ArgumentException("Publish at least one message.", nameof(messages));
        }

        var batch = new Message[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            batch[i] = (messages[i] ?? throw new ArgumentException("Messages must not be null.", nameof(messages))).Clone();
        }

        if (Array.TrueForAll(batch, m => m.Id is null))
        {
            var idBase = NewIdempotentBase();
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].Id = string.Concat(idBase, ":", i.ToString(CultureInfo.InvariantCulture));
            }
        }

        var body = _codec.EncodeMessages(batch);
        var response = await SendAsync(HttpMethod.Post, ChannelPath(channel) + "/messages", body, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        var serials = new List<string?>();
        if (RestBodies.Parse(response.Body, response.ContentType) is { ValueKind: JsonValueKind.Object } result
            && result.TryGetProperty("serials", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var serial in array.EnumerateArray())
            {
                serials.Add(serial.ValueKind == JsonValueKind.String ? serial.GetString() : null);
            }
        }

        return new PublishResult(serials);
    }

    /// <summary>A page of the channel's history; follow <see cref="PaginatedResult{T}.NextAsync"/> for more.</summary>
    /// <exception cref="ArgumentException"><see cref="HistoryRequest.UntilAttach"/> is set: only realtime channels have an attach point.</exception>
    public Task<PaginatedResult<Message>> HistoryAsync(string channel, HistoryRequest? request = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        if (request?.UntilAttach == true)
        {
            throw new ArgumentException("UntilAttach needs an attached realtime channel: use RealtimeChannel.HistoryAsync.", nameof(request));
        }

        return HistoryCoreAsync(channel, request ?? HistoryRequest.Default, fromSerial: null, cancellationToken);
    }

    /// <summary>The server's clock (<c>GET /time</c>).</summary>
    public async Task<DateTimeOffset> TimeAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, "/time", body: null, authenticate: false, acceptJson: true, cancellationToken).ConfigureAwait(false);
        if (RestBodies.Parse(response.Body, response.ContentType) is { ValueKind: JsonValueKind.Array } array
            && array.GetArrayLength() > 0 && array[0].TryGetInt64(out var ms))
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        throw new AblyException(ErrorCodes.InternalError, "Unexpected /time response: expected [milliseconds]");
    }

    /// <summary>The channel's status and occupancy (<c>GET /channels/{name}</c>).</summary>
    public async Task<ChannelStatus> ChannelStatusAsync(string channel, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        var response = await SendAsync(HttpMethod.Get, ChannelPath(channel), body: null, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        if (RestBodies.Parse(response.Body, response.ContentType) is not { ValueKind: JsonValueKind.Object } root)
        {
            throw new AblyException(ErrorCodes.InternalError, "Unexpected channel status response: expected an object");
        }

        var isActive = false;
        var metrics = default(JsonElement);
        if (root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object)
        {
            isActive = status.TryGetProperty("isActive", out var active) && active.ValueKind == JsonValueKind.True;
            if (status.TryGetProperty("occupancy", out var occupancy) && occupancy.ValueKind == JsonValueKind.Object)
            {
                occupancy.TryGetProperty("metrics", out metrics);
            }
        }

        int Metric(string name) => metrics.ValueKind == JsonValueKind.Object ? RestBodies.GetInt(metrics, name) ?? 0 : 0;
        var id = root.TryGetProperty("channelId", out var channelId) && channelId.ValueKind == JsonValueKind.String ? channelId.GetString()! : channel;
        return new ChannelStatus(
            id,
            isActive,
            new ChannelOccupancy(Metric("connections"), Metric("presenceConnections"), Metric("presenceMembers"), Metric("presenceSubscribers"), Metric("publishers"), Metric("subscribers")));
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    internal Task<PaginatedResult<Message>> HistoryCoreAsync(string channel, HistoryRequest request, string? fromSerial, CancellationToken cancellationToken) =>
        FetchPageAsync(ChannelPath(channel) + "/messages", HistoryQuery(request, fromSerial), static m => m, cancellationToken);

    /// <summary>The history query string: every parameter explicit, since next-page links replace it (reference §5.5).</summary>
    private static string HistoryQuery(HistoryRequest request, string? fromSerial)
    {
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

        Add("direction", request.Direction == HistoryDirection.Forwards ? "forwards" : "backwards");
        if (request.Start is { } start)
        {
            Add("start", start.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        }

        if (request.End is { } end)
        {
            Add("end", end.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        }

        if (fromSerial is not null)
        {
            // snake_case, as ably-js sends it (reference §5.4).
            Add("from_serial", fromSerial);
        }

        return query.ToString();
    }

    /// <summary>
    /// One page of a message-shaped resource (history, versions, presence); the next page is <paramref name="path"/>
    /// with the query of the server's next link. Payloads are decoded; <paramref name="map"/> converts each item.
    /// </summary>
    private async Task<PaginatedResult<T>> FetchPageAsync<T>(string path, string query, Func<Message, T> map, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, query.Length == 0 ? path : $"{path}?{query}", body: null, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        var items = ReadMessages(response);
        var next = LinkHeader.NextQuery(response.Links);
        return new PaginatedResult<T>(items.ConvertAll(m => map(m)), next, (nextQuery, ct) => FetchPageAsync(path, nextQuery, map, ct));
    }

    /// <summary>A body of one message or an array of them, decoded.</summary>
    private static List<Message> ReadMessages(RestResponse response)
    {
        if (response.Body.Length == 0)
        {
            return [];
        }

        var codec = RestBodies.IsMessagePack(response.ContentType) ? ProtocolCodecs.MessagePackFromServer : ProtocolCodecs.JsonFromServer;
        List<Message> items;
        try
        {
            items = [.. codec.ReadMessages(new System.Buffers.ReadOnlySequence<byte>(response.Body))];
        }
        catch (ProtocolException ex)
        {
            throw new AblyException(ex.Error, ex);
        }

        foreach (var message in items)
        {
            PayloadCodec.Decode(message);
        }

        return items;
    }

    private static string ChannelPath(string channel) => "/channels/" + Uri.EscapeDataString(channel);

    private static void ValidateChannel(string channel)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
    }

    /// <summary>base64 of 9 random bytes: 12 characters, 72 bits, like ably-js's idempotent REST ids.</summary>
    private static string NewIdempotentBase() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(9));

    private static RealtimeClientOptions Validated(RealtimeClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    internal static HttpClient CreateHttpClient(RealtimeClientOptions options)
    {
        // Per-request deadlines come from HttpRequestTimeout, applied with a linked token in SendAsync.
        return new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }
}
