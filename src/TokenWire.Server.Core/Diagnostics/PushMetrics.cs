using System.Diagnostics.Metrics;

namespace TokenWire.Server.Diagnostics;

/// <summary>
/// Meter <c>TokenWire.Push</c>: notifications this node delivered, retried after a transient failure, and gave up
/// on, each by <c>tokenwire.push.transport</c> (web, apns, fcm, gcm, ablyChannel).
/// </summary>
public sealed class PushMetrics
{
    public const string MeterName = "TokenWire.Push";

    private const string TransportTag = "tokenwire.push.transport";

    private readonly Counter<long> _sent;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _failed;

    public PushMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _sent = meter.CreateCounter<long>("tokenwire.push.sent", "{notification}", "Notifications a push service accepted from this node, by tokenwire.push.transport");
        _retried = meter.CreateCounter<long>("tokenwire.push.retried", "{attempt}", "Deliveries attempted again after a transient failure (unreachable, 429, 5xx), by tokenwire.push.transport");
        _failed = meter.CreateCounter<long>("tokenwire.push.failed", "{notification}", "Notifications given up on: refused, permanently failed, or out of retries, by tokenwire.push.transport");
    }

    public void Sent(string transport) => _sent.Add(1, new KeyValuePair<string, object?>(TransportTag, transport));

    public void Retried(string transport) => _retried.Add(1, new KeyValuePair<string, object?>(TransportTag, transport));

    public void Failed(string transport) => _failed.Add(1, new KeyValuePair<string, object?>(TransportTag, transport));
}
