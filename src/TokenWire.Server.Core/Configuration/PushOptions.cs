namespace TokenWire.Server.Configuration;

/// <summary>
/// Push notifications (<c>TokenWire:Push</c>): the delivery queue, retries and each transport's credentials. Web Push
/// needs a VAPID key pair, APNs a token signing key, FCM a service account; a transport left unconfigured fails its
/// devices' notifications with 103006 on their registrations. Credentials given are checked at startup.
/// </summary>
public sealed class PushOptions
{
    /// <summary>Notifications waiting for delivery (per node); past it a channel message's notification is dropped
    /// with a warning and <c>/push/publish</c> answers 42910.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Deliveries in flight at once (per node).</summary>
    public int MaxConcurrentDeliveries { get; set; } = 16;

    /// <summary>How long one delivery to a push service may take.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Delivers to <c>ablyChannel</c> recipients (Ably's test transport: a REST publish of <c>__ably_push__</c> to the
    /// recipient's <c>ablyUrl</c> with its <c>ablyKey</c>). Off unless set, or the sandbox is on: it makes the server
    /// send requests to whatever URL a registration names.
    /// </summary>
    public bool? AblyChannelTransport { get; set; }

    public PushRetryOptions Retry { get; set; } = new();

    public VapidOptions Vapid { get; set; } = new();

    public ApnsOptions Apns { get; set; } = new();

    public FcmOptions Fcm { get; set; } = new();
}

/// <summary>The Web Push application server's VAPID identity (RFC 8292): a P-256 key pair, base64url, and a contact.</summary>
public sealed class VapidOptions
{
    /// <summary>A <c>mailto:</c> or <c>https:</c> contact that push services may use.</summary>
    public string? Subject { get; set; }

    /// <summary>The uncompressed public key (65 bytes), base64url: what <c>GET /push/publicVapidKey</c> answers.</summary>
    public string? PublicKey { get; set; }

    /// <summary>The private key (32 bytes), base64url.</summary>
    public string? PrivateKey { get; set; }

    public bool IsConfigured => !string.IsNullOrEmpty(PublicKey) && !string.IsNullOrEmpty(PrivateKey) && !string.IsNullOrEmpty(Subject);
}
