using TokenWire.Conformance;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The embedded engine against the shared mutable-messages contract.</summary>
public sealed class InMemoryMutableMessageLogTests : MutableMessageLogConformance
{
    protected override IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter) => new InMemoryMessageLog(time, forgetIdleAfter);
}
