using TokenWire.Conformance;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Tests.Auth;

/// <summary>The embedded engine against the shared revocation contract: one process, so every node is the same store.</summary>
public sealed class InMemoryTokenRevocationStoreTests : TokenRevocationStoreConformance
{
    private readonly InMemoryTokenRevocationStore _store = new();

    protected override Task<ITokenRevocationStore> StartNodeAsync() => Task.FromResult<ITokenRevocationStore>(_store);
}
