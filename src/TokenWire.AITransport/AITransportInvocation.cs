using System.Text.Json;

namespace TokenWire.AITransport;

/// <summary>
/// What the JS client POSTs to start a run (<c>run.toInvocation().toJSON()</c>, also what <c>createChatTransport</c>
/// sends): the session's channel and the <c>event-id</c> of the input that triggered it. Run identity, parents and
/// client ids are read from that input on the channel, not from the body; other body fields are ignored.
/// </summary>
public sealed record AITransportInvocation(string InputEventId, string SessionName)
{
    /// <summary>Channel names are bounded on the server too; this keeps a bad body from reaching the client.</summary>
    private const int MaxLength = 1024;

    /// <exception cref="AITransportException">The body is not a JSON object with both fields as non-empty strings.</exception>
    public static AITransportInvocation Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            return FromJson(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new AITransportException(AITransportException.InvalidRequestBody, "Body must be JSON: { inputEventId, sessionName }", ex);
        }
    }

    /// <exception cref="AITransportException">Not an object with both fields as non-empty strings.</exception>
    public static AITransportInvocation FromJson(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new AITransportException(AITransportException.InvalidRequestBody, "Body must be a JSON object: { inputEventId, sessionName }");
        }

        return new AITransportInvocation(Field(body, "inputEventId"), Field(body, "sessionName"));
    }

    private static string Field(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 and <= MaxLength } text)
        {
            throw new AITransportException(AITransportException.InvalidParameterValue, $"{name} must be a non-empty string of at most {MaxLength} characters");
        }

        return text;
    }
}
