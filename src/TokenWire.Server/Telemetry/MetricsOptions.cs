namespace TokenWire.Server.Telemetry;

/// <summary>
/// <c>TokenWire:Metrics</c>: the Prometheus scrape endpoint. OTLP export needs no setting here: it is on when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the OpenTelemetry SDK's own variables configure it).
/// </summary>
public sealed class MetricsOptions
{
    public const string SectionName = "TokenWire:Metrics";

    /// <summary>
    /// Serve <c>GET /metrics</c> (Prometheus text format, no authentication). Default: on in Development only; in
    /// production the operator opts in, and should keep it off the public listener with <see cref="PrometheusPort"/>.
    /// </summary>
    public bool? Prometheus { get; set; }

    /// <summary>
    /// Answer <c>/metrics</c> only on connections to this local port (add it to <c>ASPNETCORE_URLS</c>, e.g.
    /// <c>http://+:8080;http://+:9464</c>, and expose 8080 alone through the load balancer). Null: any port.
    /// </summary>
    public int? PrometheusPort { get; set; }
}
