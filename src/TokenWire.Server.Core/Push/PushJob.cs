namespace TokenWire.Server.Push;

/// <summary>Who a notification is for: Ably's direct recipients (a device, a clientId's devices, a raw transport
/// recipient) or a channel's push subscribers.</summary>
public enum PushTargetKind
{
    Device,
    Client,
    Recipient,
    Channel,
}

/// <summary>One notification waiting for delivery: its app, its target (an id, a name, or a recipient's JSON) and its payload's JSON.</summary>
public sealed record PushJob(string AppId, PushTargetKind Kind, string Target, string Payload);
