using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary>
/// What makes an annotation acceptable (spec RSAN1, Ably's annotation types): a type <c>namespace:method.v1</c> of a
/// known method, an action create or delete, a name where the method counts per name, an identified client where it
/// counts clients, and a positive count. Every refusal is 40003, the connection unaffected.
/// </summary>
public static class AnnotationRules
{
    /// <summary>Checks <paramref name="annotation"/> (its <c>clientId</c> already resolved) and returns its type's method.</summary>
    public static SummaryMethod Validate(Annotation annotation)
    {
        if (string.IsNullOrEmpty(annotation.MessageSerial))
        {
            throw Invalid("An annotation must have a messageSerial: the serial of the message it annotates");
        }

        if (annotation.Action is not (null or AnnotationActions.Create or AnnotationActions.Delete))
        {
            throw Invalid($"Unknown annotation action {annotation.Action}: expected 0 (annotation.create) or 1 (annotation.delete)");
        }

        var method = MethodOf(annotation.Type);
        if (method is SummaryMethod.Distinct or SummaryMethod.Unique or SummaryMethod.Multiple && annotation.Name is null)
        {
            throw Invalid($"An annotation of type '{annotation.Type}' must have a name");
        }

        if (method is not (SummaryMethod.Total or SummaryMethod.Multiple) && string.IsNullOrEmpty(annotation.ClientId))
        {
            throw Invalid($"An annotation of type '{annotation.Type}' requires an identified client (a clientId)");
        }

        if (annotation.Count is <= 0)
        {
            throw Invalid("An annotation's count must be a positive integer");
        }

        return method;
    }

    /// <summary>The method of a type such as <c>reaction:distinct.v1</c>.</summary>
    public static SummaryMethod MethodOf(string? type)
    {
        var colon = type?.LastIndexOf(':') ?? -1;
        if (type is null || colon <= 0)
        {
            throw Invalid($"Invalid annotation type '{type}': expected namespace:method.version, such as reaction:distinct.v1");
        }

        return type.AsSpan(colon + 1) switch
        {
            "total.v1" => SummaryMethod.Total,
            "flag.v1" => SummaryMethod.Flag,
            "distinct.v1" => SummaryMethod.Distinct,
            "unique.v1" => SummaryMethod.Unique,
            "multiple.v1" => SummaryMethod.Multiple,
            _ => throw Invalid($"Invalid annotation type '{type}': unknown summarization method (total.v1, flag.v1, distinct.v1, unique.v1 or multiple.v1)"),
        };
    }

    private static ProtocolException Invalid(string message) => new(ErrorCodes.InvalidParameterValue, message);
}
