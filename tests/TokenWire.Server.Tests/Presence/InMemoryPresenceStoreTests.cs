using TokenWire.Conformance;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Tests.Presence;

/// <summary>The embedded engine against the shared presence contract.</summary>
public sealed class InMemoryPresenceStoreTests : PresenceStoreConformance
{
    protected override IPresenceStore CreateStore() => new InMemoryPresenceStore();
}
