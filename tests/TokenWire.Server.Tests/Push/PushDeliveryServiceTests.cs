using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Push;
using TokenWire.Server.Tests.Diagnostics;

namespace TokenWire.Server.Tests.Push;

/// <summary>Delivery outcomes: transient failures retried and counted, permanent ones failing the device, which is then skipped.</summary>
public sealed class PushDeliveryServiceTests : IAsyncLifetime
{
    private const string App = "app";
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly InMemoryPushRegistry _registry = new();
    private readonly ScriptedTransport _transport = new();
    private MetricRecorder _metrics = null!;
    private PushQueue _queue = null!;
    private PushDeliveryService _service = null!;

    public async Task InitializeAsync()
    {
        var options = Options.Create(new TokenWireOptions
        {
            Push = new PushOptions { DeliveryTimeout = TimeSpan.FromMilliseconds(200), Retry = new PushRetryOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(20) } },
        });
        _metrics = new MetricRecorder(_services);
        _queue = new PushQueue(options, NullLogger<PushQueue>.Instance);
        _service = new PushDeliveryService(_queue, _registry, [_transport], options, NullLogger<PushDeliveryService>.Instance, new PushMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        await _service.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        _service.Dispose();
        _metrics.Dispose();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task A_transient_failure_is_retried_until_delivered_and_counted_as_retried_then_sent()
    {
        await _registry.SaveDeviceAsync(App, Device("d1", "flaky-2"));

        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "d1", """{"data":{"a":"b"}}"""));

        await Wait.Eventually("the third attempt to succeed", () => _metrics.Sum("tokenwire.push.sent") == 1);
        Assert.Equal(3, _transport.Attempts("flaky-2"));
        Assert.Equal(2, _metrics.Sum("tokenwire.push.retried", new("tokenwire.push.transport", "fcm")));
        Assert.Equal(0, _metrics.Sum("tokenwire.push.failed"));
        Assert.Equal("ACTIVE", (await _registry.GetDeviceAsync(App, "d1"))!.State);
    }

    [Fact]
    public async Task Retries_stop_at_max_attempts_and_the_device_is_failing_with_the_last_error()
    {
        await _registry.SaveDeviceAsync(App, Device("d1", "flaky-9"));

        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "d1", """{"data":{"a":"b"}}"""));

        await Wait.Eventually("the device to be FAILING", async () => (await _registry.GetDeviceAsync(App, "d1"))!.State == "FAILING");
        Assert.Equal(3, _transport.Attempts("flaky-9"));
        var error = (await _registry.GetDeviceAsync(App, "d1"))!.Error!;
        Assert.Equal((ErrorCodes.PushRetriesExhausted, 1.0), (error.Code, _metrics.Sum("tokenwire.push.failed")));
        Assert.Contains("gave up after 3 attempts: unavailable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_permanent_failure_fails_the_device_which_is_not_sent_to_again_until_registered_again()
    {
        await _registry.SaveDeviceAsync(App, Device("gone", "gone", "carol"));
        await _registry.SaveDeviceAsync(App, Device("ok", "ok", "carol"));

        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Client, "carol", """{"data":{"n":"1"}}"""));
        await Wait.Eventually("the device to be FAILED", async () => (await _registry.GetDeviceAsync(App, "gone"))!.State == "FAILED");
        Assert.Equal(ErrorCodes.PushDeviceTokenInvalid, (await _registry.GetDeviceAsync(App, "gone"))!.Error!.Code);

        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Client, "carol", """{"data":{"n":"2"}}"""));
        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "gone", """{"data":{"n":"3"}}"""));
        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "ok", """{"data":{"n":"4"}}"""));
        await Wait.Eventually("the good device's third notification", () => _transport.Attempts("ok") == 3);
        Assert.Equal(1, _transport.Attempts("gone"));

        await _registry.SaveDeviceAsync(App, Device("gone", "gone", "carol"));
        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "gone", """{"data":{"n":"5"}}"""));
        await Wait.Eventually("the re-registered device to be tried", () => _transport.Attempts("gone") == 2);
    }

    [Fact]
    public async Task A_push_service_that_does_not_answer_in_time_is_retried_as_a_transient_failure()
    {
        await _registry.SaveDeviceAsync(App, Device("d1", "slow-1"));

        _queue.EnqueueDirect(new PushJob(App, PushTargetKind.Device, "d1", """{"data":{"a":"b"}}"""));

        await Wait.Eventually("the second attempt to succeed", () => _metrics.Sum("tokenwire.push.sent") == 1);
        Assert.Equal((2, 1.0), (_transport.Attempts("slow-1"), _metrics.Sum("tokenwire.push.retried")));
    }

    private static DeviceRegistration Device(string id, string token, string? clientId = null) => new()
    {
        Id = id,
        ClientId = clientId,
        Platform = "android",
        FormFactor = "phone",
        Recipient = $$"""{"transportType":"fcm","registrationToken":"{{token}}"}""",
    };

    /// <summary>Tokens script the outcome: "flaky-N" fails N times with 503 first, "slow-1" does not answer the first time, "gone" is unknown to the provider.</summary>
    private sealed class ScriptedTransport : IPushTransport
    {
        private readonly ConcurrentDictionary<string, int> _attempts = new();

        public int Attempts(string token) => _attempts.GetValueOrDefault(token);

        public bool Handles(string transportType) => transportType == "fcm";

        public Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
        {
            var token = recipient.GetProperty("registrationToken").GetString()!;
            var attempt = _attempts.AddOrUpdate(token, 1, (_, n) => n + 1);
            if (token == "gone")
            {
                throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, "gone"), permanent: true);
            }

            if (token == "slow-1" && attempt == 1)
            {
                return Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (token.StartsWith("flaky-", StringComparison.Ordinal) && attempt <= int.Parse(token[6..], System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "unavailable"), permanent: false, retryable: true);
            }

            return Task.CompletedTask;
        }
    }
}
