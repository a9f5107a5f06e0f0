using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Streams message-per-response the way ChannelPublisher and MessageMutator do (append to the log, which delivers), as
/// agent <c>conn-agent</c> / clientId <c>agent</c>, so channel tests can drive a response.
/// </summary>
internal sealed class ResponseWriter(IMessageLog log, ChannelKey channelKey, ChannelRetention retention)
{
    public const string ConnectionId = "conn-agent";

    public async Task<Message> CreateAsync(string text)
    {
        var message = new Message { Id = Guid.NewGuid().ToString(), Name = "response", Data = MessageData.FromText(text), ConnectionId = ConnectionId, ClientId = "agent" };
        var result = await log.AppendAsync(channelKey, [message], retention).Within();
        return result.Appended[0].Message;
    }

    /// <summary>Appends <paramref name="fragment"/> with the publisher's <paramref name="rollupWindow"/>; returns the version serial.</summary>
    public async Task<string> AppendAsync(Message original, string fragment, TimeSpan rollupWindow = default)
    {
        Assert.True(LogPosition.TryParse(original.Serial, out var target));
        var operation = new Message
        {
            Id = Guid.NewGuid().ToString(),
            Action = MessageActions.Append,
            Serial = original.Serial,
            Data = MessageData.FromText(fragment),
            ConnectionId = ConnectionId,
            Version = VersionPayload.Compose(null, "agent"),
        };
        var mutation = new MessageMutation(target.Epoch, target.Offset, operation, "agent", MayChangeAny: true, AppendRollupWindow: rollupWindow);
        var result = await log.AppendMutationAsync(channelKey, mutation, retention).Within();
        return result.Serials[0]!;
    }
}
