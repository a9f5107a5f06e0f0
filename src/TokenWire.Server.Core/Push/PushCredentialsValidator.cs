using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>Refuses to start with push credentials that are given but unusable (VAPID, APNs, FCM), saying which setting is wrong.</summary>
public sealed class PushCredentialsValidator : IValidateOptions<TokenWireOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenWireOptions options)
    {
        var failures = new List<string>();
        if (VapidKeys.Validate(options.Push.Vapid) is { } vapid)
        {
            failures.Add(vapid);
        }

        try
        {
            ApnsCredentials.Load(options.Push.Apns)?.Dispose();
        }
        catch (PushConfigurationException ex)
        {
            failures.Add(ex.Message);
        }

        try
        {
            FcmServiceAccount.Load(options.Push.Fcm)?.Dispose();
        }
        catch (PushConfigurationException ex)
        {
            failures.Add(ex.Message);
        }

        var retry = options.Push.Retry;
        if (retry.MaxAttempts < 1 || retry.InitialBackoff <= TimeSpan.Zero || retry.MaxBackoff < retry.InitialBackoff || retry.MaxRetryDuration < TimeSpan.Zero)
        {
            failures.Add("TokenWire:Push:Retry needs MaxAttempts >= 1, InitialBackoff > 0, MaxBackoff >= InitialBackoff and MaxRetryDuration >= 0");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
