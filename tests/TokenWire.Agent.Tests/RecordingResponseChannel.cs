using System.Text.Json.Nodes;

namespace TokenWire.Agent.Tests;

/// <summary>An <see cref="IResponseChannel"/> that records publishes and lets a test inject cancel requests.</summary>
internal sealed class RecordingResponseChannel : IResponseChannel
{
    private readonly List<Action<string?>> _cancelHandlers = [];

    public List<(string Name, JsonObject Data, JsonObject Headers)> Published { get; } = [];

    /// <summary>Fails the publish of the token with this index (to simulate a NACK).</summary>
    public int? FailTokenIndex { get; init; }

    /// <summary>Called after each token publish, with its index.</summary>
    public Action<int>? OnToken { get; init; }

    public Task PublishAsync(string name, JsonObject data, JsonObject headers, CancellationToken cancellationToken = default)
    {
        lock (Published)
        {
            Published.Add((name, data, headers));
        }

        if (name == "token")
        {
            var index = headers["index"]!.GetValue<int>();
            OnToken?.Invoke(index);
            if (index == FailTokenIndex)
            {
                return Task.FromException(new InvalidOperationException("NACK 50001"));
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(string name, Action<string?> handler, CancellationToken cancellationToken = default)
    {
        Assert.Equal("cancel", name);
        _cancelHandlers.Add(handler);
        return ValueTask.FromResult<IAsyncDisposable>(new NoopDisposable());
    }

    public void SendCancel(string? responseId)
    {
        foreach (var handler in _cancelHandlers)
        {
            handler(responseId);
        }
    }

    public string TokenText() => string.Concat(Published.Where(p => p.Name == "token").Select(p => p.Data["token"]!.GetValue<string>()));

    private sealed class NoopDisposable : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
