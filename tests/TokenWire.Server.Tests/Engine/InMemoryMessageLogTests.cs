using TokenWire.Conformance;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The embedded engine against the shared log contract; its sweeper runs on demand.</summary>
public sealed class InMemoryMessageLogTests : MessageLogConformance
{
    protected override IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter) => new InMemoryMessageLog(time, forgetIdleAfter);

    protected override void Sweep() => ((InMemoryMessageLog)Log).Sweep();
}
