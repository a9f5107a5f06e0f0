using TokenWire.Server.Configuration;

namespace TokenWire.Server.Hosting;

/// <summary>
/// DEVELOPMENT VAPID KEY PAIR — public, for local use only. Installed when the server runs in the Development
/// environment with no <c>TokenWire:Push:Vapid</c> configured, so web push works on a laptop out of the box. Anyone
/// can sign push requests with it: never use it in any other environment (generate your own; docs/operations.md).
/// </summary>
public static class DevelopmentVapid
{
    public const string Subject = "mailto:dev@tokenwire.invalid";
    public const string PublicKey = "BCdJ4x4qOV8iPA1eavwkWcaybypDmFYNTxxSYOLNV2DRoXSCk_U3huFpX3BSAtCXoeEWYMJ2WgkpjCEWzInpn_Q";
    public const string PrivateKey = "tIQQsogKNXFQb7OhBgbooDevfix4zYldxnHrfjmqns4";

    public static void Apply(VapidOptions vapid)
    {
        vapid.Subject ??= Subject;
        vapid.PublicKey ??= PublicKey;
        vapid.PrivateKey ??= PrivateKey;
    }
}
