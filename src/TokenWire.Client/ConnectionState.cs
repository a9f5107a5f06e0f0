namespace TokenWire.Client;

/// <summary>Connection states (spec RTN4).</summary>
public enum ConnectionState
{
    Initialized,
    Connecting,
    Connected,
    Disconnected,
    Suspended,
    Closing,
    Closed,
    Failed,
}
