using System.Text.Json;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Mutable messages over REST (reference §5.2): <c>PATCH /channels/{name}/messages/{serial}</c> with one message
/// carrying the action, and <c>GET …/{serial}</c>, <c>GET …/{serial}/versions</c> to read a message back.
/// </summary>
public sealed partial class RestClient
{
    /// <summary>Updates the message with <paramref name="message"/>'s serial: its non-null name, data and extras replace the original's.</summary>
    public Task<UpdateDeleteResult> UpdateMessageAsync(string channel, Message message, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(channel, MessageMutations.Create(message, MessageActions.Update, operation), cancellationToken);

    public Task<UpdateDeleteResult> DeleteMessageAsync(string channel, string serial, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(channel, MessageMutations.Create(new Message { Serial = serial }, MessageActions.Delete, operation), cancellationToken);

    /// <summary>Appends text to the plain-text message with <paramref name="serial"/>.</summary>
    public Task<UpdateDeleteResult> AppendMessageAsync(string channel, string serial, string fragment, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(channel, MessageMutations.Create(new Message { Serial = serial, Data = MessageData.FromText(fragment) }, MessageActions.Append, operation), cancellationToken);

    /// <summary>The latest form of a message: updates applied, appends concatenated (action <c>message.update</c> once changed).</summary>
    /// <exception cref="AblyException">No such message (404).</exception>
    public async Task<Message> GetMessageAsync(string channel, string serial, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentException.ThrowIfNullOrEmpty(serial);
        var response = await SendAsync(HttpMethod.Get, MessagePath(channel, serial), body: null, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        return ReadMessages(response) is [var message]
            ? message
            : throw new AblyException(ErrorCodes.InternalError, "Unexpected message response: expected one message");
    }

    /// <summary>The message as created, then each version; newest first unless <see cref="HistoryRequest.Direction"/> is forwards.</summary>
    public Task<PaginatedResult<Message>> GetMessageVersionsAsync(string channel, string serial, HistoryRequest? request = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentException.ThrowIfNullOrEmpty(serial);
        return FetchPageAsync(MessagePath(channel, serial) + "/versions", HistoryQuery(request ?? HistoryRequest.Default, fromSerial: null), static m => m, cancellationToken);
    }

    private async Task<UpdateDeleteResult> MutateAsync(string channel, Message message, CancellationToken cancellationToken)
    {
        ValidateChannel(channel);
        var body = _codec.EncodeMessages([message]);
        var response = await SendAsync(HttpMethod.Patch, MessagePath(channel, message.Serial!), body, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        var versionSerial = RestBodies.Parse(response.Body, response.ContentType) is { ValueKind: JsonValueKind.Object } result
            && result.TryGetProperty("versionSerial", out var serial) && serial.ValueKind == JsonValueKind.String
                ? serial.GetString()
                : null;
        return new UpdateDeleteResult(versionSerial);
    }

    private static string MessagePath(string channel, string serial) => $"{ChannelPath(channel)}/messages/{Uri.EscapeDataString(serial)}";
}
