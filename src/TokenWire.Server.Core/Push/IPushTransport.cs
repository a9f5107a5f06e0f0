using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Push;

/// <summary>Delivers a notification to one recipient of the transport types it handles.</summary>
public interface IPushTransport
{
    bool Handles(string transportType);

    /// <summary>Sends <paramref name="payload"/> (Ably's push payload object); a failure is a <see cref="PushDeliveryException"/>.</summary>
    Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken);
}

/// <summary>A delivery that failed, with the Ably error recorded on the device (<paramref name="permanent"/>: the
/// registration will not work again until it changes, so the device is FAILED rather than FAILING;
/// <paramref name="retryable"/>: the push service may well take it on another attempt — unreachable, 429, 5xx).</summary>
public sealed class PushDeliveryException(ErrorInfo error, bool permanent, Exception? inner = null, bool retryable = false) : Exception(error.Message, inner)
{
    public ErrorInfo Error { get; } = error;

    public bool Permanent { get; } = permanent;

    public bool Retryable { get; } = retryable && !permanent;
}
