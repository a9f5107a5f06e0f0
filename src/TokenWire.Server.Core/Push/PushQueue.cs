using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// The bounded hand-off between whoever asks for a notification (<c>/push/publish</c>, a channel message with
/// <c>extras.push</c>) and <see cref="PushDeliveryService"/>: publishing never waits on a push service. A message
/// without <c>extras.push</c> costs one byte search of its extras, and nothing when it has none.
/// </summary>
public sealed class PushQueue(IOptions<TokenWireOptions> options, ILogger<PushQueue> logger, AppRegistry? apps = null)
{
    private readonly Channel<PushJob> _jobs = Channel.CreateBounded<PushJob>(new BoundedChannelOptions(Math.Max(1, options.Value.Push.QueueCapacity))
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    internal ChannelReader<PushJob> Reader => _jobs.Reader;

    /// <summary>Queues a direct publish; a full queue is refused with 42910 so the caller can retry.</summary>
    public void EnqueueDirect(PushJob job)
    {
        if (!_jobs.Writer.TryWrite(job))
        {
            throw new ProtocolException(ErrorCodes.RateLimited, "Push notification queue is full: retry later");
        }
    }

    /// <summary>
    /// Queues the notifications of a channel publish: each message whose extras carry a <c>push</c> object, on a
    /// channel whose <c>pushEnabled</c> rule is on. Elsewhere the message is published as it is, without
    /// notifications, as Ably documents it.
    /// </summary>
    public void OnPublished(string appId, string channel, IReadOnlyList<Message> messages)
    {
        for (var i = 0; i < messages.Count; i++) // not foreach: an interface's enumerator is an allocation per publish
        {
            var message = messages[i];
            if (message.Extras is not { } extras || extras.Utf8Json.Span.IndexOf("\"push\""u8) < 0)
            {
                continue;
            }

            if (apps?.FindApp(appId) is { } app && !app.IsPushEnabled(channel))
            {
                logger.LogDebug("A message with extras.push on channel {Channel}, whose pushEnabled rule is off: published without notifications", channel);
                return;
            }

            using var document = JsonDocument.Parse(extras.Utf8Json);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("push", out var push) && push.ValueKind == JsonValueKind.Object
                && !_jobs.Writer.TryWrite(new PushJob(appId, PushTargetKind.Channel, channel, push.GetRawText())))
            {
                logger.LogWarning("Push notification queue is full: dropped the notification of a message on channel {Channel}", channel);
            }
        }
    }
}
