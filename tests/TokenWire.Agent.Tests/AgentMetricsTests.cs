using System.Diagnostics.Metrics;

namespace TokenWire.Agent.Tests;

public sealed class AgentMetricsTests
{
    [Fact]
    public void A_response_records_its_first_token_tokens_duration_and_outcome_once()
    {
        using var factory = new TestMeterFactory();
        var metrics = new AgentMetrics(factory);
        var recorded = new List<(string Instrument, double Value, string? Outcome)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => recorded.Add((i.Name, v, Outcome(tags))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => recorded.Add((i.Name, v, Outcome(tags))));
        listener.Start();

        metrics.ResponseEnded(new ResponseOutcome("r1", "cancelled", 7, "text", null) { TimeToFirstToken = TimeSpan.FromMilliseconds(12) }, TimeSpan.FromSeconds(2));
        metrics.ResponseFailed();

        Assert.Equal(
            [
                ("tokenwire.agent.time_to_first_token", 12d, "cancelled"),
                ("tokenwire.agent.response.tokens", 7d, "cancelled"),
                ("tokenwire.agent.response.duration", 2000d, "cancelled"),
                ("tokenwire.agent.responses", 1d, "cancelled"),
                ("tokenwire.agent.responses", 1d, "error"),
            ],
            recorded);
    }

    private static string? Outcome(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "tokenwire.agent.outcome")
            {
                return (string?)tag.Value;
            }
        }

        return null;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
