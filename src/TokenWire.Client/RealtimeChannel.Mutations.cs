using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Mutable messages over realtime (reference §4.12): update, delete and append are MESSAGE frames naming the
/// original by <c>serial</c>, pipelined and acknowledged like publishes; the ACK carries the new version's serial.
/// They need a channel whose namespace allows mutable messages (else 93002). Reading a message back is REST.
/// </summary>
public sealed partial class RealtimeChannel
{
    /// <summary>
    /// Updates the message with <paramref name="message"/>'s <see cref="Message.Serial"/>: its non-null name, data
    /// and extras replace the original's. Build it with <see cref="Messages.Create"/> and set <c>Serial</c>.
    /// </summary>
    public Task<UpdateDeleteResult> UpdateMessageAsync(Message message, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(MessageMutations.Create(message, MessageActions.Update, operation), cancellationToken);

    /// <summary>Deletes the message with <paramref name="message"/>'s serial; subscribers see action <c>message.delete</c>.</summary>
    public Task<UpdateDeleteResult> DeleteMessageAsync(Message message, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(MessageMutations.Create(message, MessageActions.Delete, operation), cancellationToken);

    /// <summary>Deletes the message with <paramref name="serial"/>.</summary>
    public Task<UpdateDeleteResult> DeleteMessageAsync(string serial, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        DeleteMessageAsync(new Message { Serial = serial }, operation, cancellationToken);

    /// <summary>
    /// Appends text to the message with <paramref name="serial"/> (a plain-text message, else 40013). Subscribers get
    /// each fragment as it comes (action <c>message.append</c>); history and <see cref="GetMessageAsync"/> return the
    /// whole text. Appends are pipelined: start many, await later, and they apply in call order.
    /// </summary>
    public Task<UpdateDeleteResult> AppendMessageAsync(string serial, string fragment, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(MessageMutations.Create(new Message { Serial = serial, Data = MessageData.FromText(fragment) }, MessageActions.Append, operation), cancellationToken);

    /// <summary>
    /// Appends <paramref name="message"/>'s data (plain text) to the message with its <see cref="Message.Serial"/>.
    /// Its non-null extras replace the message's extras, as on Ably: protocols that keep state in extras (such as
    /// <c>@ably/ai-transport</c>'s headers) repeat them on every append. Pipelined like the other overload.
    /// </summary>
    public Task<UpdateDeleteResult> AppendMessageAsync(Message message, MessageOperation? operation = null, CancellationToken cancellationToken = default) =>
        MutateAsync(MessageMutations.Create(message, MessageActions.Append, operation), cancellationToken);

    /// <summary>The latest form of the message with <paramref name="serial"/>, over REST (appends and updates folded in).</summary>
    public Task<Message> GetMessageAsync(string serial, CancellationToken cancellationToken = default) =>
        _rest.GetMessageAsync(Name, serial, cancellationToken);

    /// <summary>The message as created and each version since, over REST.</summary>
    public Task<PaginatedResult<Message>> GetMessageVersionsAsync(string serial, HistoryRequest? request = null, CancellationToken cancellationToken = default) =>
        _rest.GetMessageVersionsAsync(Name, serial, request, cancellationToken);

    private async Task<UpdateDeleteResult> MutateAsync(Message message, CancellationToken cancellationToken) =>
        MessageMutations.Result(await PublishAsync([message], cancellationToken).ConfigureAwait(false));
}
