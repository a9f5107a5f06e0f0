using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;

namespace TokenWire.Server.Push;

/// <summary>
/// Delivers queued notifications: resolves each job's devices from the registry (a device, a clientId's devices, a
/// channel's device and clientId subscribers, each device once) and sends to each through the transport of its
/// recipient, at most <see cref="PushOptions.MaxConcurrentDeliveries"/> at once. A transient failure (unreachable,
/// 429, 5xx) is retried with backoff (<see cref="PushRetryOptions"/>), its slot given up while it waits so other
/// deliveries go on. A failure that stands is logged and recorded on the device's registration as Ably reports it
/// (<c>push.state</c> FAILING, or FAILED when the push service no longer knows the device; <c>push.error</c>); a
/// FAILED device is skipped until it is registered again, and the next success makes a FAILING one ACTIVE.
/// Jobs live in this node's memory only: a restart loses those waiting (docs/operations.md).
/// </summary>
public sealed partial class PushDeliveryService(
    PushQueue queue,
    IPushRegistry registry,
    IEnumerable<IPushTransport> transports,
    IOptions<TokenWireOptions> options,
    ILogger<PushDeliveryService> logger,
    PushMetrics? metrics = null,
    TimeProvider? time = null) : BackgroundService
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private const int PageSize = 500;
    private readonly IPushTransport[] _transports = [.. transports];
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.Push.MaxConcurrentDeliveries));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await DispatchAsync(job, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogJobFailed(logger, job.Kind, job.Target, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DispatchAsync(PushJob job, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(job.Payload);
        if (job.Kind == PushTargetKind.Recipient)
        {
            using var recipient = JsonDocument.Parse(job.Target);
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            _ = SendAsync(job.AppId, device: null, recipient.RootElement.Clone(), payload.RootElement.Clone(), cancellationToken);
            return;
        }

        await foreach (var device in DevicesAsync(job, cancellationToken).ConfigureAwait(false))
        {
            if (device.State == "FAILED")
            {
                continue;
            }

            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            using var recipient = JsonDocument.Parse(device.Recipient);
            _ = SendAsync(job.AppId, device, recipient.RootElement.Clone(), payload.RootElement.Clone(), cancellationToken);
        }
    }

    private async IAsyncEnumerable<DeviceRegistration> DevicesAsync(PushJob job, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        switch (job.Kind)
        {
            case PushTargetKind.Device:
                if (await registry.GetDeviceAsync(job.AppId, job.Target, cancellationToken).ConfigureAwait(false) is { } device)
                {
                    yield return device;
                }

                break;
            case PushTargetKind.Client:
                await foreach (var d in ClientDevicesAsync(job.AppId, job.Target, cancellationToken).ConfigureAwait(false))
                {
                    yield return d;
                }

                break;
            case PushTargetKind.Channel:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                string? after = null;
                while (true)
                {
                    var page = await registry.ListSubscriptionsAsync(job.AppId, new SubscriptionFilter(Channel: job.Target), after, PageSize, cancellationToken).ConfigureAwait(false);
                    foreach (var subscription in page)
                    {
                        if (subscription.DeviceId is { } id)
                        {
                            if (seen.Add(id) && await registry.GetDeviceAsync(job.AppId, id, cancellationToken).ConfigureAwait(false) is { } subscribed)
                            {
                                yield return subscribed;
                            }
                        }
                        else
                        {
                            await foreach (var d in ClientDevicesAsync(job.AppId, subscription.ClientId!, cancellationToken).ConfigureAwait(false))
                            {
                                if (seen.Add(d.Id))
                                {
                                    yield return d;
                                }
                            }
                        }
                    }

                    if (page.Count < PageSize)
                    {
                        break;
                    }

                    after = page[^1].Key;
                }

                break;
        }
    }

    private async IAsyncEnumerable<DeviceRegistration> ClientDevicesAsync(string appId, string clientId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await registry.ListDevicesAsync(appId, new DeviceFilter(ClientId: clientId), after, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var device in page)
            {
                yield return device;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].Id;
        }
    }

    private async Task SendAsync(string appId, DeviceRegistration? device, JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        var type = recipient.TryGetProperty("transportType", out var t) ? t.GetString() ?? string.Empty : string.Empty;
        var retry = options.Value.Push.Retry;
        var started = _time.GetTimestamp();
        var holdsSlot = true;
        var attempts = 0;
        try
        {
            var transport = _transports.FirstOrDefault(x => x.Handles(type))
                ?? throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, $"No push transport for '{type}'"), permanent: true);
            for (var attempt = 1; ; attempt++)
            {
                attempts = attempt;
                try
                {
                    await AttemptAsync(transport, recipient, payload, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (PushDeliveryException ex) when (ex.Retryable && attempt < retry.MaxAttempts
                    && PushBackoff.Delay(retry, attempt) is var delay && _time.GetElapsedTime(started) + delay <= retry.MaxRetryDuration)
                {
                    LogRetrying(logger, device?.Id ?? "(direct recipient)", type, ex.Error.Code, ex.Error.Message, attempt, delay.TotalMilliseconds);
                    metrics?.Retried(type);
                    // Waiting without the slot: other deliveries are not held up by this one's backoff.
                    _slots.Release();
                    holdsSlot = false;
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                    await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                    holdsSlot = true;
                }
            }

            metrics?.Sent(type);
            if (device is { State: not "ACTIVE" })
            {
                await UpdateStateAsync(appId, device, "ACTIVE", error: null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (PushDeliveryException ex)
        {
            metrics?.Failed(type);
            if (ex.Retryable && attempts > 1)
            {
                ex = new PushDeliveryException(new ErrorInfo(ErrorCodes.PushRetriesExhausted, 503, $"Push delivery gave up after {attempts} attempts: {ex.Error.Message}"), permanent: false, ex);
            }

            LogDeliveryFailed(logger, device?.Id ?? "(direct recipient)", type, ex.Error.Code, ex.Error.Message);
            if (device is not null)
            {
                await UpdateStateAsync(appId, device, ex.Permanent ? "FAILED" : "FAILING", ex.Error, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics?.Failed(type);
            LogDeliveryFailed(logger, device?.Id ?? "(direct recipient)", type, ErrorCodes.PushPublishFailed, ex.Message);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        finally
        {
            if (holdsSlot)
            {
                _slots.Release();
            }
        }
    }

    /// <summary>One attempt, bounded by <see cref="PushOptions.DeliveryTimeout"/>: a push service that does not answer in time is a transient failure.</summary>
    private async Task AttemptAsync(IPushTransport transport, JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Push.DeliveryTimeout);
        try
        {
            await transport.SendAsync(recipient, payload, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, $"The push service did not answer within {options.Value.Push.DeliveryTimeout.TotalSeconds:0.###} s"), permanent: false, ex, retryable: true);
        }
    }

    /// <summary>Records the outcome on the registration as it is now, unless it was re-registered with another recipient since the job read it.</summary>
    private async Task UpdateStateAsync(string appId, DeviceRegistration device, string state, ErrorInfo? error, CancellationToken cancellationToken)
    {
        var deviceId = device.Id;
        try
        {
            if (await registry.GetDeviceAsync(appId, deviceId, cancellationToken).ConfigureAwait(false) is { } current && current.Recipient == device.Recipient)
            {
                await registry.SaveDeviceAsync(appId, current with { State = state, Error = error }, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogJobFailed(logger, PushTargetKind.Device, deviceId, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push delivery to device {DeviceId} ({TransportType}) failed: {Code} {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string deviceId, string transportType, int code, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Push delivery to device {DeviceId} ({TransportType}) failed transiently: {Code} {Reason}; attempt {Attempt} failed, retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, string deviceId, string transportType, int code, string reason, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push notification for {Kind} {Target} could not be dispatched: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, PushTargetKind kind, string target, string reason);
}
