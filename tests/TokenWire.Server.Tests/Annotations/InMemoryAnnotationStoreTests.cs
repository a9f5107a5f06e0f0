using TokenWire.Conformance;
using TokenWire.Server.Annotations;

namespace TokenWire.Server.Tests.Annotations;

/// <summary>The embedded engine against the shared annotation contract: one process, so every node is the same store.</summary>
public sealed class InMemoryAnnotationStoreTests : AnnotationStoreConformance
{
    private readonly InMemoryAnnotationStore _store = new();

    protected override Task<IAnnotationStore> StartNodeAsync() => Task.FromResult<IAnnotationStore>(_store);
}
