using TokenWire.Conformance;
using TokenWire.Server.Engine;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The embedded engine against the shared presence contract.</summary>
public sealed class InMemoryPresenceStoreTests : PresenceStoreConformance
{
    protected override IPresenceStore CreateStore() => new InMemoryPresenceStore();
}
