namespace TokenWire.Client;

/// <summary>REST presence query (reference §5.2 <c>GET /channels/{name}/presence</c>). All fields optional.</summary>
public sealed record PresenceRequest
{
    public static PresenceRequest Default { get; } = new();

    /// <summary>Page size, 1-1000; the server's default is 100.</summary>
    public int? Limit { get; init; }

    /// <summary>Only the members with this clientId.</summary>
    public string? ClientId { get; init; }

    /// <summary>Only the members of this connection.</summary>
    public string? ConnectionId { get; init; }
}
