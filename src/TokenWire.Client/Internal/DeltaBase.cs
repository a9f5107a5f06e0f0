using System.Text;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.Deltas;

namespace TokenWire.Client.Internal;

/// <summary>
/// A channel's vcdiff base (spec RTL19, RTL20): the id and payload of the message it decoded last, the payload as
/// it was before its utf-8 and json steps (the form the server computes deltas on: UTF-8 of text, binary as is, or
/// the previous delta's output). A delta must name that message in <c>extras.delta.from</c>; anything else — another
/// id, no base, a delta that does not apply — is error 40018 and the channel recovers by re-attaching (RTL18).
/// Thread-safe, though frames of a channel are decoded one at a time.
/// </summary>
internal sealed class DeltaBase
{
    public const string VcdiffEncoding = "vcdiff";

    /// <summary>Ably's "delta decode failed" (ably-common errors.json).</summary>
    public const int DecodeFailedCode = 40018;

    private readonly Lock _gate = new();
    private string? _messageId;
    private MessageData _payload;

    /// <summary>Records the message just decoded as the next delta's base (a message without data leaves none).</summary>
    public void Remember(string? messageId, MessageData payload)
    {
        lock (_gate)
        {
            _messageId = messageId;
            _payload = payload;
        }
    }

    /// <summary>Applies <paramref name="delta"/>, the payload of <paramref name="message"/>, to the base.</summary>
    /// <exception cref="AblyException">40018: the delta is not against the base held, or does not decode.</exception>
    public byte[] Apply(Message message, byte[] delta)
    {
        var from = DeltaFrom(message);
        lock (_gate)
        {
            if (_payload.IsNone || from is null || from != _messageId)
            {
                throw Failure($"Delta message decode failure: the base {from ?? "(none named)"} of message {message.Id} is not the message decoded last ({_messageId ?? "none"})");
            }

            var source = _payload.Bytes ?? Encoding.UTF8.GetBytes(_payload.Text!);
            try
            {
                return VcdiffDecoder.Decode(delta, source);
            }
            catch (FormatException ex)
            {
                throw Failure($"Vcdiff delta decode failed for message {message.Id}: {ex.Message}");
            }
        }
    }

    private static AblyException Failure(string message) => new(ErrorCodes.Create(DecodeFailedCode, message));

    /// <summary><c>extras.delta.from</c>, or null.</summary>
    private static string? DeltaFrom(Message message)
    {
        if (message.Extras is not { } extras)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(extras.Utf8Json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                && delta.TryGetProperty("from", out var from) && from.ValueKind == JsonValueKind.String
                    ? from.GetString()
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
