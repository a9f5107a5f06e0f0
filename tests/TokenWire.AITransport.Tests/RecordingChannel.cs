using System.Text.Json;
using TokenWire.AITransport.Wire;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Tests;

/// <summary>
/// An <see cref="IAITransportChannel"/> that records each call in order and assigns serials like the server's. Appends
/// stay unacknowledged until <see cref="AckAppends"/> when <see cref="HoldAppends"/> is set, to show they are pipelined.
/// </summary>
internal sealed class RecordingChannel : IAITransportChannel
{
    private readonly List<TaskCompletionSource> _heldAppends = [];
    private int _serial;

    public List<(string Kind, Message Message)> Calls { get; } = [];

    public bool HoldAppends { get; init; }

    public bool FailAppends { get; init; }

    public int HeldAppendCount => _heldAppends.Count;

    public Task<string?> PublishAsync(Message message, CancellationToken cancellationToken = default)
    {
        var serial = $"01000000000000-{++_serial:D12}";
        var copy = message.Clone();
        copy.Serial = serial;
        Calls.Add(("publish", copy));
        return Task.FromResult<string?>(serial);
    }

    public Task AppendAsync(Message message, CancellationToken cancellationToken = default)
    {
        Calls.Add(("append", message.Clone()));
        if (FailAppends)
        {
            return Task.FromException(new AblyException(50000, "append refused"));
        }

        if (!HoldAppends)
        {
            return Task.CompletedTask;
        }

        var ack = new TaskCompletionSource();
        _heldAppends.Add(ack);
        return ack.Task;
    }

    public Task UpdateAsync(Message message, CancellationToken cancellationToken = default)
    {
        Calls.Add(("update", message.Clone()));
        return Task.CompletedTask;
    }

    public void AckAppends()
    {
        foreach (var ack in _heldAppends)
        {
            ack.SetResult();
        }

        _heldAppends.Clear();
    }

    public static JsonElement Transport(Message message) => message.GetExtras()!.Value.GetProperty("ai").GetProperty("transport");

    public static string? Codec(Message message, string field) =>
        message.GetExtras()!.Value.GetProperty("ai").TryGetProperty("codec", out var codec) && codec.TryGetProperty(field, out var value) ? value.GetString() : null;
}
