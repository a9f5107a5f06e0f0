using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TokenWire.Server.Telemetry;

/// <summary>
/// Exports the server's meters and spans (every <c>TokenWire.*</c> Meter and ActivitySource, plus ASP.NET Core's and
/// the runtime's) with the OpenTelemetry SDK: OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (metrics and
/// traces), a Prometheus scrape endpoint at <c>/metrics</c> when <c>TokenWire:Metrics:Prometheus</c> says so (default:
/// Development only). With neither, no OpenTelemetry provider is registered and every instrument stays disabled, so
/// the hot path pays nothing. Each stream holds as many points as its tags can produce (<see cref="MetricCardinality"/>).
/// </summary>
public static class TelemetryExtensions
{
    public const string ServiceName = "tokenwire";

    public static WebApplicationBuilder AddTokenWireTelemetry(this WebApplicationBuilder builder)
    {
        var prometheus = PrometheusEnabled(builder.Configuration, builder.Environment);
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!prometheus && !otlp)
        {
            return builder;
        }

        var serverId = builder.Configuration["TokenWire:ServerId"];
        var telemetry = builder.Services.AddOpenTelemetry().ConfigureResource(resource =>
        {
            // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win when set (the SDK reads them itself).
            if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
            {
                resource.AddService(ServiceName, serviceInstanceId: string.IsNullOrEmpty(serverId) ? null : serverId);
            }
        });
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter("TokenWire.*").AddAspNetCoreInstrumentation().AddRuntimeInstrumentation()
                .AddView(MetricCardinality.View);
            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });
        if (otlp)
        {
            // Traces only go somewhere over OTLP. Not traced: the realtime WebSocket request (it lasts as long as
            // the connection; attaches start traces of their own), scrapes and health probes.
            telemetry.WithTracing(tracing => tracing
                .AddSource("TokenWire.*")
                .AddAspNetCoreInstrumentation(options => options.Filter = context =>
                    !context.WebSockets.IsWebSocketRequest && context.Request.Path != "/metrics" && context.Request.Path != "/health")
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>The scrape endpoint, when enabled; call before the other endpoints so a scrape skips their middleware.</summary>
    public static WebApplication MapTokenWireMetrics(this WebApplication app)
    {
        if (!PrometheusEnabled(app.Configuration, app.Environment))
        {
            return app;
        }

        var port = app.Configuration.GetSection(MetricsOptions.SectionName).Get<MetricsOptions>()?.PrometheusPort;
        app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
            context.Request.Path == "/metrics" && (port is null || context.Connection.LocalPort == port));
        if (!app.Environment.IsDevelopment())
        {
            app.Logger.LogWarning("Prometheus metrics are served without authentication at /metrics{Where}", port is null ? " on every listener" : $" on port {port}");
        }

        return app;
    }

    private static bool PrometheusEnabled(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetSection(MetricsOptions.SectionName).Get<MetricsOptions>()?.Prometheus ?? environment.IsDevelopment();
}
