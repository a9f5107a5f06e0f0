using TokenWire.Protocol;
using TokenWire.Server.Fanout;
using TokenWire.Server.Log;

namespace TokenWire.Server.Channels;

/// <summary>
/// The running fold of one message that is being changed (typically a streamed response receiving appends), kept by
/// the channel as it delivers versions in log order, so a first contact can be sent the whole message as of any
/// version without reading the log. Owned by the channel's lock; the snapshots it hands out are immutable.
/// </summary>
internal sealed class MessageAggregate
{
    private readonly Message _original;
    private char[]? _text;
    private int _length;
    private MessageData _data;
    private string? _encoding;
    private string? _name;
    private JsonPayload? _extras;
    private JsonPayload? _version;
    private int _action;

    private MessageAggregate(Message original)
    {
        _original = original;
        _data = original.Data;
        _encoding = original.Encoding;
        _name = original.Name;
        _extras = original.Extras;
        _version = original.Version;
        _action = original.Action ?? MessageActions.Create;
        if (original.Data.IsText && string.IsNullOrEmpty(original.Encoding))
        {
            SetText(original.Data.Text!);
        }
        else if (original.Data.IsNone)
        {
            SetText(string.Empty);
        }
    }

    /// <summary>The offset of the last version folded in (or the original's).</summary>
    public long LastOffset { get; private set; }

    /// <summary>When (<see cref="TimeProvider.GetTimestamp"/>) an append of this message last went out to subscribers;
    /// appends within the publisher's rollup window after it are held and rolled up.</summary>
    public long LastAppendSentAt { get; set; }

    /// <summary>Starts from an original and the versions the channel did not see, up to (excluding) <paramref name="beforeOffset"/>.</summary>
    public static MessageAggregate From(LogEntry original, IReadOnlyList<LogEntry> versions, long beforeOffset)
    {
        var aggregate = new MessageAggregate(original.Message) { LastOffset = original.Offset };
        foreach (var version in versions)
        {
            if (version.Offset >= beforeOffset)
            {
                break;
            }

            aggregate.Apply(version);
        }

        return aggregate;
    }

    /// <summary>Folds in the next version (in log order) and returns the message as of it.</summary>
    public MessageSnapshot Apply(LogEntry version)
    {
        var message = version.Message;
        if (message.Action == MessageActions.Append)
        {
            AppendText(message.Data.Text ?? string.Empty);
        }
        else if (!message.Data.IsNone)
        {
            if (message.Data.IsText && string.IsNullOrEmpty(message.Encoding))
            {
                SetText(message.Data.Text!);
            }
            else
            {
                _text = null;
                _length = 0;
                _data = message.Data;
                _encoding = message.Encoding;
            }
        }

        // Versions are stored in broadcast form: name and extras already merged with the message's current ones.
        _name = message.Name ?? _name;
        _extras = message.Extras ?? _extras;
        _version = message.Version;
        _action = message.Action ?? MessageActions.Update;
        LastOffset = version.Offset;
        return new MessageSnapshot(_original, _text, _length, _data, _encoding, _name, _extras, _version, _action);
    }

    /// <summary>A fresh buffer: earlier snapshots keep the old one, which is never written again.</summary>
    private void SetText(string text)
    {
        _text = new char[Math.Max(16, text.Length * 2)];
        text.CopyTo(_text);
        _length = text.Length;
        _data = default;
        _encoding = null;
    }

    private void AppendText(string fragment)
    {
        if (_text is null)
        {
            // Appending to data that is not text (refused by the log's rules; kept total here).
            SetText(_data.Text ?? string.Empty);
        }

        if (_length + fragment.Length > _text!.Length)
        {
            // Grow into a new array: snapshots holding the old one still read their unchanged prefix.
            var grown = new char[Math.Max(_text.Length * 2, _length + fragment.Length)];
            _text.AsSpan(0, _length).CopyTo(grown);
            _text = grown;
        }

        // Writes only past every snapshot's length, so concurrent readers of a prefix are unaffected.
        fragment.CopyTo(_text.AsSpan(_length));
        _length += fragment.Length;
    }
}
