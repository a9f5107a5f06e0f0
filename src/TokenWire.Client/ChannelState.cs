namespace TokenWire.Client;

/// <summary>Channel states (spec RTL2).</summary>
public enum ChannelState
{
    Initialized,
    Attaching,
    Attached,
    Detaching,
    Detached,
    Suspended,
    Failed,
}
