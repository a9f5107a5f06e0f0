using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Client.Internal;

/// <summary>
/// Builds the one message an update, delete or append sends (reference §4.12, §5.2 PATCH): the caller's fields, the
/// target <c>serial</c>, the action, and the operation as <c>version: {clientId?, description?, metadata?}</c>.
/// </summary>
internal static class MessageMutations
{
    public static Message Create(Message source, int action, MessageOperation? operation)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (string.IsNullOrEmpty(source.Serial))
        {
            // ably-js refuses with 40003 before sending; here it is a caller error.
            throw new ArgumentException("The message needs the serial of the message to change.", nameof(source));
        }

        var message = source.Clone();
        message.Action = action;
        message.Version = operation is null ? null : Version(operation);
        return message;
    }

    public static UpdateDeleteResult Result(PublishResult result) =>
        new(result.Serials.Count > 0 ? result.Serials[0] : null);

    private static JsonPayload Version(MessageOperation operation)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (operation.ClientId is { } clientId)
            {
                writer.WriteString("clientId", clientId);
            }

            if (operation.Description is { } description)
            {
                writer.WriteString("description", description);
            }

            if (operation.Metadata is { } metadata)
            {
                writer.WriteStartObject("metadata");
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return new JsonPayload(buffer.WrittenMemory.ToArray());
    }
}
