using Microsoft.Extensions.Time.Testing;
using TokenWire.Conformance;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

/// <summary>The embedded engine against the shared connection-state contract: one store, on a fake clock.</summary>
public sealed class InMemoryConnectionStoreTests : ConnectionStoreConformance
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private InMemoryConnectionStore? _store;

    protected override Task<IConnectionStore> StartNodeAsync() => Task.FromResult<IConnectionStore>(_store ??= new InMemoryConnectionStore(_time, Options));

    protected override Task LetStateExpireAsync(IConnectionStore store, RealtimeConnection connection)
    {
        _time.Advance(StateTtl + TimeSpan.FromSeconds(1));
        ((InMemoryConnectionStore)store).Reap();
        return Task.CompletedTask;
    }

    public override Task DisposeAsync()
    {
        _store?.Dispose();
        return Task.CompletedTask;
    }
}
