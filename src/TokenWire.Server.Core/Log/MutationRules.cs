using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// What an append may join, shared by every engine (the Redis scripts mirror <see cref="DataKind"/> and
/// <see cref="CanAppendTo"/>). Appends concatenate text: only plain strings (no <c>encoding</c>) are appended, and
/// only to a message whose data is a plain string or empty. JSON, binary, encrypted or otherwise encoded data would
/// not survive byte concatenation, so those appends are refused with 40013, as Ably does for non-string data.
/// </summary>
public static class MutationRules
{
    public const string None = "n";
    public const string Text = "t";
    public const string Other = "o";

    /// <summary>The kind of a message's data: none, plain text, or anything else.</summary>
    public static string DataKind(Message message) =>
        message.Data.IsNone ? None
        : message.Data.IsText && string.IsNullOrEmpty(message.Encoding) ? Text
        : Other;

    public static bool CanAppendTo(string currentKind) => currentKind is None or Text;

    public static ProtocolException FragmentNotText() =>
        new(ErrorCodes.InvalidMessageData, "An append's data must be a string without an encoding");

    public static ProtocolException TargetNotText() =>
        new(ErrorCodes.InvalidMessageData, "Cannot append to a message whose data is not a plain string");

    /// <summary>The whole message's data after an append: the original's and every fragment's bytes.</summary>
    public static ProtocolException WholeTooLarge(long size, int maxMessageSize) =>
        new(ErrorCodes.MessageTooLarge, $"Appending would make the message {size} bytes, over the maximum of {maxMessageSize}; the append was not applied");

    public static ProtocolException NotFound(string serial) =>
        new(ErrorCodes.NotFound, $"Message with serial '{serial}' not found");

    public static ProtocolException NotOwner(string what) =>
        new(ErrorCodes.OperationNotPermitted, $"Permission denied: may only {what} own messages (no message-{what}-any capability)");
}
