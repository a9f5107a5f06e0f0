using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Typed access to an annotation's payload, with the same rules as <see cref="MessageExtensions"/>.</summary>
public static class AnnotationExtensions
{
    /// <summary>The payload when it is a plain string; null for binary or JSON payloads.</summary>
    public static string? GetText(this Annotation annotation)
    {
        ArgumentNullException.ThrowIfNull(annotation);
        return annotation.Encoding is null ? annotation.Data.Text : null;
    }

    /// <summary>The payload as a JSON value when it is JSON; null otherwise.</summary>
    public static JsonElement? GetJson(this Annotation annotation)
    {
        ArgumentNullException.ThrowIfNull(annotation);
        return new Message { Data = annotation.Data, Encoding = annotation.Encoding }.GetJson();
    }

    /// <summary>True for <c>annotation.delete</c>.</summary>
    public static bool IsDelete(this Annotation annotation)
    {
        ArgumentNullException.ThrowIfNull(annotation);
        return annotation.Action == AnnotationActions.Delete;
    }
}
