using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// The load: <see cref="Streams"/> channels, each with one publishing connection at <see cref="Rate"/> msg/s and
/// <see cref="Subscribers"/> subscribing connections. Written <c>STREAMSxRATExSUBSCRIBERS</c>, e.g. <c>100x50x10</c>.
/// </summary>
public sealed record Shape(int Streams, double Rate, int Subscribers)
{
    public int TotalSubscribers => Streams * Subscribers;

    /// <summary>Deliveries per second the load asks for, over all subscribers.</summary>
    public double OfferedDeliveries => Streams * Rate * Subscribers;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Streams}x{Rate:0.##}x{Subscribers}");
}

/// <summary>What a scenario runs against: TokenWire over Ably protocol v6 in one wire format, or a raw baseline.</summary>
public enum Target
{
    /// <summary>bench/TokenWire.RawFanout: Kestrel WebSocket fan-out of the publisher's bytes, no protocol.</summary>
    Raw,

    /// <summary>The same, its publishers asking for (and reading) one small acknowledgement frame per message.</summary>
    RawAck,
    Json,
    MessagePack,
}

/// <summary>One run: a load shape against one target, <paramref name="Slow"/> of its subscribers reading slowly (<c>--slow</c>).</summary>
public sealed record Scenario(Shape Shape, Target Target, int Slow = 0)
{
    public string TargetName => NameOf(Target);

    /// <summary>The target's name in the tool's output and options: raw, raw-ack, json, msgpack.</summary>
    public static string NameOf(Target target) => target switch
    {
        Target.Raw => "raw",
        Target.RawAck => "raw-ack",
        Target.Json => "json",
        _ => "msgpack",
    };

    /// <summary>Run against bench/TokenWire.RawFanout (either baseline), not TokenWire.</summary>
    public bool IsRaw => Target is Target.Raw or Target.RawAck;

    public WireFormat Format => Target == Target.MessagePack ? WireFormat.MessagePack : WireFormat.Json;
}

/// <summary>How long a scenario publishes unmeasured, publishes measured, and then waits for stragglers.</summary>
public sealed record Timing(TimeSpan Warmup, TimeSpan Duration, TimeSpan Drain);

/// <summary>Command line. Every run is bounded: connection count, rate and time are capped, and only loopback is allowed.</summary>
public sealed class LoadTestOptions
{
    public const int MaxSubscribers = 5000;
    public const int MaxStreams = 2000;
    public const double MaxRate = 50_000;
    public const int MaxNodes = 5;

    /// <summary>
    /// A matrix run's default warm-up. A fresh server spends its first 4–5 s of publishing compiling (0.3–0.7 s of JIT
    /// per second at 1000×5×1) and makes its first gen1/gen2 collection after the connections, a 40–60 ms pause, about
    /// 2.5 s in: with 2 s of warm-up both landed in the measured window (docs/benchmarks.md, session 16).
    /// </summary>
    public static readonly TimeSpan MatrixWarmup = TimeSpan.FromSeconds(8);

    /// <summary>A matrix run's timing unless told otherwise; a sweep's short probes have their own.</summary>
    private static readonly Timing MatrixTiming = new(MatrixWarmup, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
    private static readonly Timing SweepTiming = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));

    public const string Usage = """
        TokenWire.LoadTest — fixed-rate fan-out over real WebSockets speaking Ably protocol v6, each scenario also run
        against a raw Kestrel WebSocket fan-out (bench/TokenWire.RawFanout) as the baseline TokenWire is compared with.

        Usage: dotnet bench/TokenWire.LoadTest/bin/Release/net10.0/TokenWire.LoadTest.dll [options]

          --scenarios <spec>    default | issue12 | quick | list of STREAMSxRATExSUBS (or SUBSxRATE = one stream)   [default]
                                default = 1x1000x1,1x5000x1,1x1000x100,1x5000x100,1x500x1000,100x50x10,1000x5x1
                                issue12 = 1x1000x100,100x50x10,1000x5x1,1x5000x100
                                RATE is per stream; each stream is one channel with one publishing connection
          --streams <n>         with --subscribers/--rate: streams per scenario                     [1]
          --subscribers <n,..>  subscribers per stream; with --rate, runs every subscribers x rate pair instead of --scenarios
          --rate <msg/s,..>     offered publish rates per stream
          --format <f,..>       TokenWire wire formats: json, msgpack or both                       [both; sweep: msgpack]
          --baseline <b,..>     raw: also run every scenario against bench/TokenWire.RawFanout and report
                                TokenWire's ratios to it | raw-ack: the same with the publishers asking for one
                                93-byte acknowledgement frame per message and reading it (TokenWire's ACK's socket
                                work; its p99 is reported as ack-p99) | raw,raw-ack: both, and the ratios to each
                                and of raw-ack to raw | none. raw-ack applies to the matrix only  [raw]
          --duration <s>        measured seconds per scenario                                       [10; sweep: 3]
          --warmup <s>          unmeasured seconds published first (the server's JIT, first GCs)    [8; sweep: 1]
          --drain <s>           max seconds to wait for deliveries after the last publish           [10; sweep: 3]
          --decode <mode>       fast (scan ids / seq) | full (decode + payload check)               [fast]
          --sweep               rate sweep instead of the matrix: --streams x RATE x --subscribers (1 x R x 100), R
                                doubled from --sweep-start until a probe fails, then bisected to within 10 %, for
                                the raw baseline and each --format, their probes alternating; a probe passes with
                                p99 < --sweep-p99 and nothing lost, duplicated, reordered or dropped, and a rate fails
                                only if a second probe right after fails too (--retry-busy/--quiet-wait apply to every
                                probe). Stops within --sweep-budget.
          --sweep-start <msg/s> first offered rate                                                  [500]
          --sweep-p99 <ms>      p99 a probe must stay under                                         [50]
          --sweep-budget <s>    total seconds for the sweep, shared by its servers                  [240]
          --nodes <n>           start n TokenWire nodes sharing a fresh redis-server; subscribers round-robin,
                                publishers on node 0 (n > 1 implies --redis)                        [1]
          --redis               run the started node(s) on a fresh loopback redis-server, not the embedded engine
          --url <url>           use a running TokenWire on 127.0.0.1/localhost instead of starting one
          --server-dll <path>   TokenWire server to start                 [src/TokenWire.Server/bin/<config>/net10.0]
          --raw-dll <path>      baseline server to start     [bench/TokenWire.RawFanout/bin/<config>/net10.0]
          --key <key>           API key                                                             [dev.root:dev-root-secret]
          --quiet-wait <s>      before each run, wait up to s seconds for other processes to go idle   [0]
          --retry-busy <n>      rerun a run up to n times if other processes used > 0.25 cores      [0]
          --idle <n>            memory instead of the matrix: n idle connections, each attached to one of 100
                                channels (TokenWire, per --format) or subscribed (raw baseline); reports the
                                server's RSS growth per connection, settled                      [off; at most 20000]
          --slow <n,..>         slow-subscriber cost: each scenario (and target) runs once with no slow subscriber, then
                                once per n with n of its subscribers reading their socket at --slow-fraction of the
                                bytes a normal subscriber of the stream reads (throttled ReceiveAsync); reports the
                                normal subscribers' p99 against the run without, the server's peak RSS, and how many
                                slow subscribers the server disconnected                    [off]
          --slow-fraction <f>   share of the stream a slow subscriber reads                         [0.1]
          --server-env <K=V>    extra environment variable for the started TokenWire server (repeatable; not the
                                baseline), e.g. DOTNET_gcServer=0
          --help
        """;

    private static readonly Dictionary<string, string> Matrices = new(StringComparer.OrdinalIgnoreCase)
    {
        ["default"] = "1x1000x1,1x5000x1,1x1000x100,1x5000x100,1x500x1000,100x50x10,1000x5x1",
        ["issue12"] = "1x1000x100,100x50x10,1000x5x1,1x5000x100",
        ["quick"] = "1x1000x1,1x1000x100",
    };

    public IReadOnlyList<Shape> Shapes { get; private set; } = [];

    /// <summary>TokenWire's wire formats, each run per shape (after the baseline).</summary>
    public IReadOnlyList<Target> Formats { get; private set; } = [];

    /// <summary>Run every shape against the raw fan-out too, and report the ratios.</summary>
    public bool Baseline => Baselines.Count > 0;

    /// <summary>The baselines each shape runs against (<see cref="Target.Raw"/>, <see cref="Target.RawAck"/>), in that order.</summary>
    public IReadOnlyList<Target> Baselines { get; private set; } = [Target.Raw];

    /// <summary>
    /// The runs of the matrix: per shape, the baselines first, then each format; with <c>--slow</c>, per target the run
    /// without slow subscribers right before those with, so their ratio is taken over minutes, not the whole invocation.
    /// </summary>
    public IEnumerable<Scenario> Scenarios =>
        from shape in Shapes
        from target in Baselines.Concat(Formats)
        from slow in SlowCounts.Prepend(0)
        select new Scenario(shape, target, slow);

    /// <summary>Slow-subscriber counts to run each scenario with (besides 0); empty without <c>--slow</c>.</summary>
    public IReadOnlyList<int> SlowCounts { get; private set; } = [];

    /// <summary>TokenWire's per-connection outbound bound as the started server has it (<c>--server-env TokenWire__Limits__OutboundQueueBytes=…</c> or the default).</summary>
    public long OutboundQueueBytes =>
        _serverEnvironment.TryGetValue("TokenWire__Limits__OutboundQueueBytes", out var value) && long.TryParse(value, CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : ScenarioResult.DefaultOutboundQueueBytes;

    /// <summary>Share of the stream's bytes a slow subscriber reads.</summary>
    public double SlowFraction { get; private set; } = 0.1;

    public Timing Timing { get; private set; } = MatrixTiming;

    public DecodeMode Decode { get; private set; } = DecodeMode.Fast;

    public Uri? Url { get; private set; }

    /// <summary>Server nodes to start; more than one share a Redis (the cluster engine).</summary>
    public int Nodes { get; private set; } = 1;

    /// <summary>Run the started nodes on the Redis engine; always so with more than one node.</summary>
    public bool Redis => _redis || Nodes > 1;

    public string? ServerDll { get; private set; }

    public string? RawDll { get; private set; }

    public string Key { get; private set; } = "dev.root:dev-root-secret";

    public bool Help { get; private set; }

    public bool Sweep { get; private set; }

    /// <summary>Connections for the idle-memory measurement, or 0 for none.</summary>
    public int Idle { get; private set; }

    public double SweepStart { get; private set; } = 500;

    public double SweepP99Ms { get; private set; } = 50;

    public TimeSpan SweepBudget { get; private set; } = TimeSpan.FromSeconds(240);

    /// <summary>The sweep's load: streams and subscribers per stream (the rate is what it varies).</summary>
    public Shape SweepShape { get; private set; } = new(1, 500, 100);

    /// <summary>On a shared machine: how long to wait for other load to stop before each run.</summary>
    public TimeSpan QuietWait { get; private set; } = TimeSpan.Zero;

    /// <summary>On a shared machine: reruns of a run measured while other processes were busy.</summary>
    public int RetryBusy { get; private set; }

    /// <summary>Extra environment for the started TokenWire server, for experiments; the defaults measure it as shipped.</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment => _serverEnvironment;

    private readonly Dictionary<string, string> _serverEnvironment = new(StringComparer.Ordinal);

    private bool _redis;

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        string scenarios = "default";
        string? subscribers = null;
        string? rates = null;
        string? formats = null;
        var streams = 1;
        TimeSpan? warmup = null, duration = null, drain = null;
        string? slow = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--help" or "-h":
                    options.Help = true;
                    continue;
                case "--redis":
                    options._redis = true;
                    continue;
                case "--sweep":
                    options.Sweep = true;
                    continue;
                default:
                    break;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            var value = args[++i];
            switch (name)
            {
                case "--scenarios":
                    scenarios = value;
                    break;
                case "--streams":
                    streams = Bounded(Number(value, name), name, 1, MaxStreams);
                    break;
                case "--subscribers":
                    subscribers = value;
                    break;
                case "--rate":
                    rates = value;
                    break;
                case "--format":
                    formats = value == "both" ? "json,msgpack" : value;
                    break;
                case "--baseline":
                    options.Baselines = ParseBaselines(value);
                    break;
                case "--duration":
                    duration = Seconds(name, value, 1, 120);
                    break;
                case "--warmup":
                    warmup = Seconds(name, value, 0, 30);
                    break;
                case "--drain":
                    drain = Seconds(name, value, 1, 60);
                    break;
                case "--decode":
                    options.Decode = value switch
                    {
                        "fast" => DecodeMode.Fast,
                        "full" => DecodeMode.Full,
                        _ => throw new ArgumentException("--decode is fast or full"),
                    };
                    break;
                case "--idle":
                    options.Idle = Bounded(Number(value, name), name, 1, 20_000);
                    break;
                case "--sweep-start":
                    options.SweepStart = Bounded(Number(value, name), name, 1, MaxRate);
                    break;
                case "--sweep-p99":
                    options.SweepP99Ms = Bounded(Number(value, name), name, 0.1, 10_000);
                    break;
                case "--sweep-budget":
                    options.SweepBudget = Seconds(name, value, 10, 600);
                    break;
                case "--url":
                    options.Url = LoopbackUrl(value);
                    break;
                case "--nodes":
                    options.Nodes = Bounded(Number(value, name), name, 1, MaxNodes);
                    break;
                case "--server-dll":
                    options.ServerDll = Path.GetFullPath(value);
                    break;
                case "--raw-dll":
                    options.RawDll = Path.GetFullPath(value);
                    break;
                case "--key":
                    options.Key = value;
                    break;
                case "--quiet-wait":
                    options.QuietWait = Seconds(name, value, 0, 600);
                    break;
                case "--retry-busy":
                    options.RetryBusy = Bounded(Number(value, name), name, 0, 5);
                    break;
                case "--slow":
                    slow = value;
                    break;
                case "--slow-fraction":
                    options.SlowFraction = Bounded(Number(value, name), name, 0.001, 1);
                    break;
                case "--server-env":
                    var equals = value.IndexOf('=');
                    if (equals <= 0)
                    {
                        throw new ArgumentException("--server-env is NAME=VALUE");
                    }

                    options._serverEnvironment[value[..equals]] = value[(equals + 1)..];
                    break;
                default:
                    throw new ArgumentException($"unknown option {name}");
            }
        }

        if (options.Url is not null && (options.Nodes > 1 || options._redis))
        {
            throw new ArgumentException("--nodes and --redis start servers; they cannot be combined with --url");
        }

        var defaults = options.Sweep ? SweepTiming : MatrixTiming;
        options.Timing = new Timing(warmup ?? defaults.Warmup, duration ?? defaults.Duration, drain ?? defaults.Drain);
        options.Formats = (formats ?? (options.Sweep ? "msgpack" : "json,msgpack"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(f => f switch
            {
                "json" => Target.Json,
                "msgpack" => Target.MessagePack,
                _ => throw new ArgumentException($"unknown format {f}"),
            })
            .Distinct()
            .ToList();

        var shapes = subscribers is not null || rates is not null
            ? (from s in List(subscribers ?? "1", "--subscribers") from r in List(rates ?? "1000", "--rate") select ((double)streams, r, s)).ToList()
            : ParseMatrix(Matrices.GetValueOrDefault(scenarios) ?? scenarios);
        options.Shapes = shapes.Select(Validate).ToList();
        options.SlowCounts = slow is null ? [] : List(slow, "--slow").Select(n => Bounded(n, "--slow", 1, MaxSubscribers)).Distinct().ToList();
        foreach (var shape in options.Shapes)
        {
            // Each stream's first subscriber stays normal: it is the pace the stream's slow ones read a fraction of.
            if (options.SlowCounts.Any(n => n > shape.TotalSubscribers - shape.Streams))
            {
                throw new ArgumentException($"--slow: {shape} has {shape.TotalSubscribers} subscribers; at most {shape.TotalSubscribers - shape.Streams} can be slow");
            }
        }

        if (options.SlowCounts.Count > 0 && (options.Sweep || options.Idle > 0))
        {
            throw new ArgumentException("--slow applies to the matrix, not to --sweep or --idle");
        }

        // An idle connection publishes nothing to acknowledge; the sweep compares one baseline with TokenWire.
        if (options.Baselines.Contains(Target.RawAck) && (options.Sweep || options.Idle > 0))
        {
            throw new ArgumentException("--baseline raw-ack applies to the matrix, not to --sweep or --idle (use --baseline raw there)");
        }

        options.SweepShape = Validate((streams, options.SweepStart, subscribers is null ? 100 : List(subscribers, "--subscribers").First()));
        return options;
    }

    /// <summary><c>raw</c>, <c>raw-ack</c>, both (comma-separated, either order; run raw first), or <c>none</c> alone.</summary>
    private static List<Target> ParseBaselines(string value)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 1 && names[0] == "none")
        {
            return [];
        }

        var baselines = names.Select(n => n switch
        {
            "raw" => Target.Raw,
            "raw-ack" => Target.RawAck,
            "none" => throw new ArgumentException("--baseline none cannot be combined with a baseline"),
            _ => throw new ArgumentException($"--baseline: unknown baseline '{n}' (raw, raw-ack, raw,raw-ack or none)"),
        }).ToList();
        if (baselines.Count == 0 || baselines.Distinct().Count() != baselines.Count)
        {
            throw new ArgumentException($"--baseline '{value}': name each of raw and raw-ack at most once, or none");
        }

        return [.. baselines.Order()];
    }

    private static Shape Validate((double Streams, double Rate, double Subscribers) shape)
    {
        var streams = Bounded(shape.Streams, "streams", 1, MaxStreams);
        var subscribers = Bounded(shape.Subscribers, "subscribers", 1, MaxSubscribers);
        var rate = Bounded(shape.Rate, "rate", 0.1, MaxRate);
        if (streams * subscribers > MaxSubscribers)
        {
            throw new ArgumentException($"{streams} streams x {subscribers} subscribers is more than {MaxSubscribers} subscriber connections");
        }

        if (streams * rate > MaxRate)
        {
            throw new ArgumentException($"{streams} streams x {rate} msg/s is more than {MaxRate} msg/s in all");
        }

        return new Shape(streams, rate, subscribers);
    }

    /// <summary>STREAMSxRATExSUBS, or the older SUBSxRATE for one stream.</summary>
    private static List<(double, double, double)> ParseMatrix(string spec) =>
        spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
        {
            var parts = item.Split('x').Select(p => Number(p, "--scenarios")).ToArray();
            return parts.Length switch
            {
                3 => (parts[0], parts[1], parts[2]),
                2 => (1d, parts[1], parts[0]),
                _ => throw new ArgumentException($"scenario '{item}' is not STREAMSxRATExSUBSCRIBERS (or SUBSCRIBERSxRATE)"),
            };
        }).ToList();

    private static IEnumerable<double> List(string value, string name) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Number(v, name));

    private static double Number(string value, string name) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ArgumentException($"{name}: '{value}' is not a number");

    private static int Bounded(double value, string name, int min, int max) => (int)Bounded(value, name, min, (double)max);

    private static double Bounded(double value, string name, double min, double max) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{name} must be between {min} and {max}");

    private static TimeSpan Seconds(string name, string value, double min, double max) =>
        TimeSpan.FromSeconds(Bounded(Number(value, name), name, min, max));

    private static Uri LoopbackUrl(string value)
    {
        var uri = new Uri(value);
        if (!uri.IsLoopback)
        {
            throw new ArgumentException("--url must point at this machine (127.0.0.1, ::1 or localhost)");
        }

        return uri;
    }
}
