using System.Text;
using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// Folds a message's versions into what history, rewind and <c>getMessage</c> show: the original's serial, id,
/// clientId and timestamp; the latest name and extras; data replaced by updates and deletes that carry data and
/// extended by appends; action <c>message.update</c> (or <c>message.delete</c> if deleted last) and the latest
/// <c>version</c>. Version entries are stored in broadcast form (header already merged), so only data needs folding.
/// </summary>
public static class MessageAggregation
{
    /// <param name="upToOffset">Only versions at or before this offset count (the exact <c>untilAttach</c> seam).</param>
    public static Message Fold(LogEntry original, IReadOnlyList<LogEntry> versions, long upToOffset)
    {
        var message = original.Message.Clone();
        StringBuilder? text = null;
        foreach (var entry in versions)
        {
            if (entry.Offset > upToOffset)
            {
                break;
            }

            var version = entry.Message;
            message.Name = version.Name ?? message.Name;
            message.Extras = version.Extras;
            if (version.Action == MessageActions.Append)
            {
                text ??= new StringBuilder(message.Data.Text ?? string.Empty);
                text.Append(version.Data.Text);
            }
            else if (!version.Data.IsNone)
            {
                text = null;
                message.Data = version.Data;
                message.Encoding = version.Encoding;
            }

            message.Action = version.Action == MessageActions.Delete ? MessageActions.Delete : MessageActions.Update;
            message.Version = version.Version;
        }

        if (text is not null)
        {
            message.Data = MessageData.FromText(text.ToString());
            message.Encoding = null;
        }

        return message;
    }
}
