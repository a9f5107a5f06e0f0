namespace TokenWire.Client;

/// <summary>
/// Who made an update, delete or append and why (the <c>version</c> sent with it, reference §4.12); subscribers see it
/// in the message's <see cref="MessageExtensions.GetVersion"/>.
/// </summary>
public sealed record MessageOperation
{
    /// <summary>The client that made the change, when it differs from the connection's.</summary>
    public string? ClientId { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
