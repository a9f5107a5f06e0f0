using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Reflection;
using OpenTelemetry.Metrics;
using TokenWire.Protocol;

namespace TokenWire.Server.Telemetry;

/// <summary>
/// How many series (tag combinations) each metric stream may hold, applied as an OpenTelemetry view. The SDK allocates
/// a stream's points when the instrument is published, as many as its limit (by default 2,000, about 145 KiB), and
/// keeps them for the life of the process: the 55 streams a node publishes held ~8 MB while the largest used a few
/// points. Each limit below is the size of the instrument's tag set: exact where our code or the runtime fixes the
/// values, generous where they come from outside (exception types, routes × status codes). A series past a limit is
/// not lost without trace: the SDK adds it to one series tagged <c>otel.metric.overflow=true</c>, which
/// tests/interop/metrics.test.mjs fails on. An instrument not listed (a meter published later, as ASP.NET Core's
/// authentication and rate limiting ones) keeps the SDK's default.
/// </summary>
internal static class MetricCardinality
{
    /// <summary>An instrument without tags: its one series does not count against the limit, and 1 is the least allowed.</summary>
    private const int NoTags = 1;

    /// <summary>Exception type names (<c>error.type</c>): not ours to bound; far more than a server throws.</summary>
    private const int ExceptionTypes = 256;

    /// <summary>Kestrel's per-listener tags (transport, address family, address, port): 16 listeners × 2 families, with room.</summary>
    private const int KestrelEndpoints = 64;

    /// <summary>The answer outcomes both agents record: complete, cancelled, error.</summary>
    private const int AnswerOutcomes = 3;

    /// <summary>Push transport types a registration can have: web, apns, fcm, gcm, ablyChannel.</summary>
    private const int PushTransports = 5;

    private static readonly FrozenDictionary<string, int> Limits = new Dictionary<string, int>
    {
        // TokenWire.Messages (Diagnostics/MessageMetrics)
        ["tokenwire.messages.published"] = 5, // tokenwire.message.kind: message, update, delete, append, ephemeral
        ["tokenwire.messages.delivered"] = NoTags,
        ["tokenwire.delivery.lag"] = NoTags,
        ["tokenwire.history.duration"] = 2, // tokenwire.history.kind: messages, presence
        ["tokenwire.nacks"] = DistinctErrorCodes(), // tokenwire.error.code: a NACK carries one of ErrorCodes
        // TokenWire.Connections, TokenWire.Engine, TokenWire.Push
        ["tokenwire.connections"] = NoTags,
        ["tokenwire.outbound.queue.bytes"] = NoTags,
        ["tokenwire.resumes"] = 3, // tokenwire.resume.outcome: resumed, new_connection, failed
        ["tokenwire.slow_consumer.disconnects"] = NoTags,
        ["tokenwire.engine.outages"] = NoTags,
        ["tokenwire.engine.outage.duration"] = NoTags,
        ["tokenwire.engine.outage.active"] = NoTags,
        ["tokenwire.engine.outage.gave_up"] = NoTags,
        ["tokenwire.push.sent"] = PushTransports,
        ["tokenwire.push.retried"] = PushTransports,
        ["tokenwire.push.failed"] = PushTransports,
        // TokenWire.Redis: 9 scripts and "other", each with and without error.type=unavailable
        ["tokenwire.redis.script.duration"] = 20,
        // TokenWire.Agent and TokenWire.AITransport (src/Shared/AnswerMetrics), by outcome
        ["tokenwire.agent.time_to_first_token"] = AnswerOutcomes,
        ["tokenwire.agent.response.tokens"] = AnswerOutcomes,
        ["tokenwire.agent.response.duration"] = AnswerOutcomes,
        ["tokenwire.agent.responses"] = AnswerOutcomes,
        ["tokenwire.ai_transport.time_to_first_token"] = AnswerOutcomes,
        ["tokenwire.ai_transport.run.tokens"] = AnswerOutcomes,
        ["tokenwire.ai_transport.run.duration"] = AnswerOutcomes,
        ["tokenwire.ai_transport.runs"] = AnswerOutcomes,

        // Microsoft.AspNetCore.Hosting. Its request duration is by method, scheme, protocol version, route, status
        // code and error type: about 40 routes, each with a few methods and status codes over HTTP/1.1 and 2, come
        // close to the SDK's default, which it keeps.
        ["http.server.request.duration"] = 2000,
        ["http.server.active_requests"] = 22, // http.request.method (10 known and _OTHER) × url.scheme (http, https)
        // Microsoft.AspNetCore.Server.Kestrel: per listener; the connection's duration also by protocol version, TLS
        // version and how it ended (about 45 reasons, or an exception type)
        ["kestrel.active_connections"] = KestrelEndpoints,
        ["kestrel.queued_connections"] = KestrelEndpoints,
        ["kestrel.rejected_connections"] = KestrelEndpoints,
        ["kestrel.upgraded_connections"] = KestrelEndpoints,
        ["kestrel.active_tls_handshakes"] = KestrelEndpoints,
        ["kestrel.queued_requests"] = KestrelEndpoints * 4, // × network.protocol.version
        ["kestrel.tls_handshake.duration"] = KestrelEndpoints * 4, // × tls.protocol.version or error.type
        ["kestrel.connection.duration"] = 512,
        // Microsoft.AspNetCore.Routing: http.route × aspnetcore.routing.is_fallback, and one failure series
        ["aspnetcore.routing.match_attempts"] = 256,
        // Microsoft.AspNetCore.Diagnostics: error.type × handler type × result
        ["aspnetcore.diagnostics.exceptions"] = ExceptionTypes,
        // Microsoft.AspNetCore.MemoryPool: aspnetcore.memory_pool.owner (Kestrel, IIS, HTTP.sys, the WebSockets' pool)
        ["aspnetcore.memory_pool.pooled"] = 8,
        ["aspnetcore.memory_pool.allocated"] = 8,
        ["aspnetcore.memory_pool.evicted"] = 8,
        ["aspnetcore.memory_pool.rented"] = 8,

        // System.Runtime
        ["dotnet.process.cpu.time"] = 2, // cpu.mode: user, system
        ["dotnet.process.cpu.count"] = NoTags,
        ["dotnet.process.memory.working_set"] = NoTags,
        ["dotnet.gc.collections"] = 3, // gc.heap.generation: gen0, gen1, gen2
        ["dotnet.gc.heap.total_allocated"] = NoTags,
        ["dotnet.gc.last_collection.memory.committed_size"] = NoTags,
        ["dotnet.gc.last_collection.heap.size"] = 5, // gc.heap.generation: gen0, gen1, gen2, loh, poh
        ["dotnet.gc.last_collection.heap.fragmentation.size"] = 5,
        ["dotnet.gc.pause.time"] = NoTags,
        ["dotnet.jit.compiled_il.size"] = NoTags,
        ["dotnet.jit.compiled_methods"] = NoTags,
        ["dotnet.jit.compilation.time"] = NoTags,
        ["dotnet.monitor.lock_contentions"] = NoTags,
        ["dotnet.thread_pool.thread.count"] = NoTags,
        ["dotnet.thread_pool.work_item.count"] = NoTags,
        ["dotnet.thread_pool.queue.length"] = NoTags,
        ["dotnet.timer.count"] = NoTags,
        ["dotnet.assembly.count"] = NoTags,
        ["dotnet.exceptions"] = ExceptionTypes, // error.type
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The view: a new configuration per instrument (the SDK stamps it with the view's id).</summary>
    public static MetricStreamConfiguration? View(Instrument instrument) =>
        Limits.TryGetValue(instrument.Name, out var limit) ? new MetricStreamConfiguration { CardinalityLimit = limit } : null;

    private static int DistinctErrorCodes() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.IsLiteral && field.FieldType == typeof(int))
            .Select(field => (int)field.GetRawConstantValue()!)
            .Distinct()
            .Count();
}
