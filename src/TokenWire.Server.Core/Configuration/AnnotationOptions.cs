namespace TokenWire.Server.Configuration;

/// <summary>Message annotations, <c>TokenWire:Annotations</c>.</summary>
public sealed class AnnotationOptions
{
    /// <summary>
    /// Client ids a summary entry lists (per name, or per type for flag.v1); beyond it the list is <c>clipped</c>
    /// while totals stay exact.
    /// </summary>
    public int MaxSummaryClientIds { get; set; } = 100;
}
