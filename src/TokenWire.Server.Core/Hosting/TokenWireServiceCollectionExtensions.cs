using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Publishing;
using TokenWire.Server.Rest;
using TokenWire.Server.Push;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Hosting;

public static class TokenWireServiceCollectionExtensions
{
    /// <summary>
    /// Registers the server with the embedded in-memory engine. A scale-out engine replaces the
    /// <see cref="IMessageLog"/>, <see cref="IMessageBus"/>, <see cref="IConnectionStore"/>, <see cref="IPresenceStore"/>,
    /// <see cref="ITokenRevocationStore"/>, <see cref="IClusterConnectionCounts"/>, <see cref="IStatsStore"/> and <see cref="IPushRegistry"/> registrations.
    /// </summary>
    public static IServiceCollection AddTokenWire(this IServiceCollection services, IHostEnvironment environment)
    {
        services.AddOptions<TokenWireOptions>()
            .BindConfiguration(TokenWireOptions.SectionName)
            .PostConfigure(options =>
            {
                if (options.Apps.Count == 0 && environment.IsDevelopment())
                {
                    options.Apps.Add(DevelopmentApp.Create());
                }

                if (environment.IsDevelopment() && string.IsNullOrEmpty(options.Push.Vapid.PublicKey) && string.IsNullOrEmpty(options.Push.Vapid.PrivateKey))
                {
                    DevelopmentVapid.Apply(options.Push.Vapid);
                }

                VapidKeys.Normalize(options.Push.Vapid);
            })
            .Validate(options => options.Apps.Count > 0, "No apps are configured. Configure TokenWire:Apps (appsettings.json, TokenWire__Apps__0__... environment variables or --TokenWire:Apps:0:... arguments); development keys are only installed in the Development environment.")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TokenWireOptions>, PushCredentialsValidator>();

        services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new NodeInstance());
        // The in-memory log delivers its appends on the in-memory bus; an engine replaces the two together.
        services.TryAddSingleton<InMemoryMessageBus>();
        services.TryAddSingleton<IMessageLog>(sp => new InMemoryMessageLog(
            sp.GetRequiredService<TimeProvider>(),
            ForgetIdleAfter(sp.GetRequiredService<IOptions<TokenWireOptions>>().Value),
            sp.GetRequiredService<InMemoryMessageBus>()));
        services.TryAddSingleton<IMessageBus>(sp => sp.GetRequiredService<InMemoryMessageBus>());
        services.TryAddSingleton<IPresenceStore, InMemoryPresenceStore>();
        services.AddSingleton<PresenceService>();
        services.AddSingleton<AppRegistry>();
        services.TryAddSingleton<ITokenRevocationStore, InMemoryTokenRevocationStore>();
        services.AddSingleton<TokenRevocations>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<RestAuthentication>();
        services.AddSingleton<ChannelRules>();
        // Metrics: one Meter per area through IMeterFactory, whatever exports them (the host's OpenTelemetry setup).
        services.AddMetrics();
        services.AddSingleton<MessageMetrics>();
        services.AddSingleton<ConnectionMetrics>();
        services.AddSingleton<EngineMetrics>();
        services.AddSingleton<EngineOutage>();
        services.AddSingleton<LogWriter>();
        services.AddSingleton<ChannelPublisher>();
        services.AddSingleton<MessageMutator>();
        services.TryAddSingleton<IAnnotationStore, InMemoryAnnotationStore>();
        services.AddSingleton<AnnotationPublisher>();
        services.AddSingleton<SummaryReader>();
        services.AddSingleton<LocalChannels>();
        services.TryAddSingleton<IConnectionStore, InMemoryConnectionStore>();
        services.TryAddSingleton<IClusterConnectionCounts, InMemoryClusterConnectionCounts>();
        services.AddSingleton<LiveConnections>();
        services.AddSingleton<HeartbeatWheel>();
        services.AddSingleton<RealtimeServices>();
        services.AddSingleton<ConnectionAdmission>();
        services.AddSingleton<RealtimeEndpoint>();
        services.AddSingleton<CometTransports>();
        services.AddSingleton<CometEndpoint>();
        services.AddHostedService<RevocationEnforcer>();
        services.AddSingleton<StatsRecorder>();
        services.TryAddSingleton<IStatsStore, InMemoryStatsStore>();
        services.AddSingleton<StatsFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<StatsFlusher>());
        services.TryAddSingleton<IPushRegistry, InMemoryPushRegistry>();
        services.AddSingleton<PushQueue>();
        services.AddHttpClient(nameof(AblyChannelTransport));
        services.AddSingleton<IPushTransport, WebPushTransport>();
        services.AddSingleton<IPushTransport, AblyChannelTransport>();
        services.AddHttpClient(ApnsTransport.HttpClientName);
        services.AddHttpClient(FcmTransport.HttpClientName);
        services.AddSingleton<IPushTransport, ApnsTransport>();
        services.AddSingleton<IPushTransport, FcmTransport>();
        services.AddSingleton<PushMetrics>();
        services.AddHostedService<PushDeliveryService>();
        // Off with TokenWire:Memory:TrimWhenIdle=false; why it exists: IdleMemoryTrimmer's summary. Kestrel takes its
        // socket buffers from the last IMemoryPoolFactory registered: ours, which the trimmer can empty.
        services.AddSingleton<IMemoryPoolFactory<byte>, TrimmableMemoryPoolFactory>();
        services.AddHostedService<IdleMemoryTrimmer>();
        services.AddHealthChecks();

        // Kestrel endpoints opt in (ListenOptions.UseTokenWireWebSocketFastPath); it serves nothing until MapTokenWire activates it.
        services.AddSingleton<WebSocketFastPath>();

        // The request line of a realtime connection carries its credentials (?key=… or ?access_token=…, as the Ably
        // protocol defines), and ASP.NET Core's request logging writes the full URL at Information. That category is
        // held at Warning whatever the configured levels (this rule is registered after the configuration's, so it
        // wins), so keys and tokens never reach the logs.
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning));
        return services;
    }

    /// <summary>Channel epochs outlive resumable connections, so a client's channelSerial stays meaningful.</summary>
    private static TimeSpan ForgetIdleAfter(TokenWireOptions options) =>
        options.Connection.StateTtl * 2 > options.History.DefaultRetention ? options.Connection.StateTtl * 2 : options.History.DefaultRetention;
}
