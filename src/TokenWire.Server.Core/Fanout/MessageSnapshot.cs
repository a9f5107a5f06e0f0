using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// A message's folded state as of one of its versions, captured cheaply while the channel delivers in log order and
/// turned into a <see cref="Message"/> only when asked (<see cref="Materialize"/>). Text grows in an append-only buffer
/// that later appends extend but never rewrite, so a snapshot is the immutable prefix <c>[0, TextLength)</c>; it may be
/// materialised on any thread while the channel keeps appending. Folds as <see cref="Log.MessageAggregation"/> does.
/// </summary>
public sealed record MessageSnapshot(
    Message Original,
    char[]? Text,
    int TextLength,
    MessageData Data,
    string? Encoding,
    string? Name,
    JsonPayload? Extras,
    JsonPayload? Version,
    int Action)
{
    public Message Materialize()
    {
        var message = Original.Clone();
        message.Name = Name;
        message.Extras = Extras;
        if (Text is not null)
        {
            message.Data = MessageData.FromText(new string(Text, 0, TextLength));
            message.Encoding = null;
        }
        else
        {
            message.Data = Data;
            message.Encoding = Encoding;
        }

        message.Action = Action == MessageActions.Delete ? MessageActions.Delete : MessageActions.Update;
        message.Version = Version;
        return message;
    }
}
