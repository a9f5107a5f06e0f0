namespace TokenWire.Server.Configuration;

/// <summary>
/// <c>TokenWire:Sandbox</c> (or <c>--sandbox</c>): test-app provisioning like Ably's sandbox — <c>POST /apps</c>
/// creates an isolated app with fresh keys, unauthenticated. Off by default; for CI and local test suites only.
/// </summary>
public sealed class SandboxOptions
{
    public const string SectionName = "TokenWire:Sandbox";

    public bool Enabled { get; set; }
}
