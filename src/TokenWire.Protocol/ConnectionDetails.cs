namespace TokenWire.Protocol;

/// <summary>CONNECTED's <c>connectionDetails</c> (spec CD2, reference §4.1).</summary>
public sealed class ConnectionDetails
{
    public required string ConnectionKey { get; init; }

    public string? ClientId { get; init; }

    public int MaxMessageSize { get; init; }

    public int MaxInboundRate { get; init; }

    public int MaxOutboundRate { get; init; }

    public int MaxFrameSize { get; init; }

    public string? ServerId { get; init; }

    public long ConnectionStateTtl { get; init; }

    public long MaxIdleInterval { get; init; }
}
