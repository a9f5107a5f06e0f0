namespace TokenWire.Server.Annotations;

/// <summary>How long a message's annotations are kept after its last one, and how many client ids a summary lists.</summary>
public readonly record struct AnnotationStorage(TimeSpan Retention, int MaxClientIds);
