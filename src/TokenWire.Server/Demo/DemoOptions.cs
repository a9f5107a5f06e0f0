namespace TokenWire.Server.Demo;

/// <summary><c>TokenWire:Demo</c>: the demo page and its token endpoint. Default: on in Development only.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "TokenWire:Demo";

    public bool? Enabled { get; set; }
}
