using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace TokenWire.Server.Tests.Diagnostics;

/// <summary>
/// Listens to the instruments of one server's meters only (those its <see cref="IMeterFactory"/> created: tests run
/// in parallel, each with its own server), and keeps every measurement.
/// </summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

    public MetricRecorder(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        _listener.Start();
    }

    /// <summary>The sum of <paramref name="instrument"/>'s measurements (with <paramref name="tag"/>, if given).</summary>
    public double Sum(string instrument, KeyValuePair<string, object?>? tag = null) =>
        Matching(instrument, tag).Sum(m => m.Value);

    /// <summary>How many measurements <paramref name="instrument"/> recorded (a histogram's count).</summary>
    public int Count(string instrument, KeyValuePair<string, object?>? tag = null) => Matching(instrument, tag).Count();

    public IEnumerable<double> Values(string instrument) => Matching(instrument, null).Select(m => m.Value);

    /// <summary>The current value of an observable instrument.</summary>
    public double Observe(string instrument)
    {
        _measurements.Clear();
        _listener.RecordObservableInstruments();
        return Sum(instrument);
    }

    public void Dispose() => _listener.Dispose();

    private IEnumerable<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string instrument, KeyValuePair<string, object?>? tag) =>
        _measurements.Where(m => m.Instrument == instrument && (tag is not { } t || m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value))));
}
