using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.Deltas;

namespace TokenWire.Server.Fanout;

/// <summary>
/// A message as a vcdiff delta against the message delivered before it (channel param <c>delta=vcdiff</c>). The
/// client applies the delta to the payload it decoded last — the canonical bytes here: UTF-8 of text, binary as is —
/// so the delta carries the target's encoding chain plus <c>utf-8/vcdiff</c> (text) or <c>vcdiff</c> (binary), and
/// <c>extras.delta = { from: base id, format: 'vcdiff' }</c>. Computed once per (base, target) and shared by every
/// attachment whose last delivery was that base, as the messages' own bytes are.
/// </summary>
public static class MessageDeltas
{
    public const string Format = "vcdiff";

    /// <summary>Per target, the delta against the base it was last asked for. The slot holds the base's id and
    /// payload object, not the base message, so no chain of deliveries is kept alive.</summary>
    private static readonly ConditionalWeakTable<DeliveredMessage, Slot> Cache = [];

    /// <summary>
    /// Whether a client that decoded <paramref name="message"/> holds its payload as the next delta's base: it has an
    /// id to name and a payload in canonical form, and is not a fragment the egress may fold into its neighbour.
    /// Encrypted payloads are never worth a delta.
    /// </summary>
    public static bool CanBeBase(DeliveredMessage message)
    {
        var m = message.Message;
        return m.Id is not null && !m.Data.IsNone && !message.IsAppend && IsPlainEncoding(m);
    }

    /// <summary>
    /// <paramref name="target"/> as a delta against <paramref name="baseMessage"/> (which the client decoded last),
    /// or null when it must go whole: it cannot be delta'd, or the delta is not smaller than the payload.
    /// </summary>
    public static DeliveredMessage? Against(DeliveredMessage baseMessage, DeliveredMessage target)
    {
        if (!CanBeBase(baseMessage) || !CanBeBase(target))
        {
            return null;
        }

        var basePayload = Payload(baseMessage.Message.Data);
        var slot = Cache.GetValue(target, static _ => new Slot());
        lock (slot)
        {
            // The same base delivered as different objects (a replay's copy of a live message) is still the same base.
            if (slot.BaseId != baseMessage.Message.Id || !(ReferenceEquals(slot.BasePayload, basePayload) || SamePayload(slot.BasePayload, basePayload)))
            {
                slot.BasePayload = basePayload;
                slot.BaseId = baseMessage.Message.Id;
                slot.Delta = Encode(baseMessage, target);
            }

            return slot.Delta;
        }
    }

    private static DeliveredMessage? Encode(DeliveredMessage baseMessage, DeliveredMessage target)
    {
        var targetBytes = Bytes(target.Message.Data);
        var delta = VcdiffEncoder.Encode(Bytes(baseMessage.Message.Data), targetBytes);
        if (delta.Length >= targetBytes.Length)
        {
            return null;
        }

        var message = target.Message.Clone();
        message.Data = MessageData.FromBytes(delta);
        message.Encoding = ProtocolCodecs.AppendEncoding(message.Encoding, target.Message.Data.IsText ? "utf-8/" + Format : Format);
        message.Extras = WithDelta(target.Message.Extras, baseMessage.Message.Id!);
        return new DeliveredMessage(message, target.Offset, target.VersionOf, loggedAt: target.LoggedAt);
    }

    /// <summary>No encoding, <c>json</c>, or (binary) steps that leave the bytes as the client's base: a trailing
    /// <c>base64</c> on text, or a cipher, would not.</summary>
    private static bool IsPlainEncoding(Message message) => message.Encoding switch
    {
        null or "" or "json" => true,
        var encoding => message.Data.IsBinary && !encoding.Contains("cipher", StringComparison.Ordinal) && !encoding.EndsWith("base64", StringComparison.Ordinal),
    };

    private static bool SamePayload(object? cached, object payload) => (cached, payload) switch
    {
        (string a, string b) => a == b,
        (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
        _ => false,
    };

    private static object Payload(MessageData data) => (object?)data.Text ?? data.Bytes!;

    private static byte[] Bytes(MessageData data) => data.Bytes ?? Encoding.UTF8.GetBytes(data.Text!);

    /// <summary>The target's extras with <c>delta</c> set (replacing one a publisher may have put there).</summary>
    private static JsonPayload WithDelta(JsonPayload? extras, string from)
    {
        var output = new ArrayBufferWriter<byte>(64 + (extras?.Utf8Json.Length ?? 0));
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            if (extras is { } existing)
            {
                using var document = JsonDocument.Parse(existing.Utf8Json);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        if (property.Name != "delta")
                        {
                            property.WriteTo(writer);
                        }
                    }
                }
            }

            writer.WriteStartObject("delta");
            writer.WriteString("from", from);
            writer.WriteString("format", Format);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return new JsonPayload(output.WrittenMemory.ToArray());
    }

    private sealed class Slot
    {
        public object? BasePayload { get; set; }

        public string? BaseId { get; set; }

        public DeliveredMessage? Delta { get; set; }
    }
}
