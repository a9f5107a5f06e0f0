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
/// registration will not work again until it changes, so the device is FAILED rather than FAILING).</summary>
public sealed class PushDeliveryException(ErrorInfo error, bool permanent, Exception? inner = null) : Exception(error.Message, inner)
{
    public ErrorInfo Error { get; } = error;

    public bool Permanent { get; } = permanent;
}
