namespace TokenWire.Protocol;

/// <summary>Annotation <c>action</c> values (TAN2b); ints on the wire.</summary>
public static class AnnotationActions
{
    public const int Create = 0;
    public const int Delete = 1;
}
