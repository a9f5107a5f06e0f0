using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>One run: subscribers on one channel, one publisher at a fixed rate, one wire format.</summary>
public sealed record Scenario(int Subscribers, double Rate, WireFormat Format)
{
    public string FormatName => Format == WireFormat.MessagePack ? "msgpack" : "json";
}

/// <summary>Command line. Every run is bounded: connection count, rate and time are capped, and only loopback is allowed.</summary>
public sealed class LoadTestOptions
{
    public const int MaxSubscribers = 5000;
    public const double MaxRate = 50_000;
    public const int MaxNodes = 5;
    public const string Usage = """
        TokenWire.LoadTest — fixed-rate fan-out over real WebSockets speaking Ably protocol v6.

        Usage: dotnet bench/TokenWire.LoadTest/bin/Release/net10.0/TokenWire.LoadTest.dll [options]

          --scenarios <spec>    default | quick | list of SUBSxRATE, e.g. 1x1000,100x5000,1000x500   [default]
                                default = 1x1000,1x5000,100x1000,100x5000,1000x500 (x each --format)
          --subscribers <n,..>  subscriber counts; with --rate, runs every subscribers x rate pair instead of --scenarios
          --rate <msg/s,..>     offered publish rates
          --format <f,..>       json, msgpack or both                                               [both]
          --duration <s>        measured seconds per scenario                                       [10]
          --warmup <s>          unmeasured seconds published first                                  [2]
          --drain <s>           max seconds to wait for deliveries after the last publish           [10]
          --decode <mode>       fast (scan ids) | full (TokenWire.Protocol codecs + payload check)  [fast]
          --nodes <n>           start n server nodes sharing a fresh redis-server; subscribers round-robin,
                                publisher on node 0 (n > 1 implies --redis)                         [1]
          --redis               run the started node(s) on a fresh loopback redis-server, not the embedded engine
          --url <url>           use a running server on 127.0.0.1/localhost instead of starting one
          --server-dll <path>   server to start                         [src/TokenWire.Server/bin/<config>/net10.0]
          --key <key>           API key                                                             [dev.root:dev-root-secret]
          --quiet-wait <s>      before each scenario, wait up to s seconds for other processes to go idle   [0]
          --retry-busy <n>      rerun a scenario up to n times if other processes used > 0.25 cores      [0]
          --server-env <K=V>    extra environment variable for the started server (repeatable), e.g. DOTNET_gcServer=0
          --help
        """;

    private static readonly Dictionary<string, string> Matrices = new(StringComparer.OrdinalIgnoreCase)
    {
        ["default"] = "1x1000,1x5000,100x1000,100x5000,1000x500",
        ["quick"] = "1x1000,100x1000",
    };

    public IReadOnlyList<Scenario> Scenarios { get; private set; } = [];

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(2);

    public TimeSpan Drain { get; private set; } = TimeSpan.FromSeconds(10);

    public DecodeMode Decode { get; private set; } = DecodeMode.Fast;

    public Uri? Url { get; private set; }

    /// <summary>Server nodes to start; more than one share a Redis (the cluster engine).</summary>
    public int Nodes { get; private set; } = 1;

    /// <summary>Run the started nodes on the Redis engine; always so with more than one node.</summary>
    public bool Redis => _redis || Nodes > 1;

    public string? ServerDll { get; private set; }

    public string Key { get; private set; } = "dev.root:dev-root-secret";

    public bool Help { get; private set; }

    /// <summary>On a shared machine: how long to wait for other load to stop before each scenario.</summary>
    public TimeSpan QuietWait { get; private set; } = TimeSpan.Zero;

    /// <summary>On a shared machine: reruns of a scenario measured while other processes were busy.</summary>
    public int RetryBusy { get; private set; }

    /// <summary>Extra environment for the started server, for experiments; the defaults measure it as shipped.</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment => _serverEnvironment;

    private readonly Dictionary<string, string> _serverEnvironment = new(StringComparer.Ordinal);

    private bool _redis;

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        string scenarios = "default";
        string? subscribers = null;
        string? rates = null;
        var formats = "json,msgpack";
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                options.Help = true;
                continue;
            }

            if (name == "--redis")
            {
                options._redis = true;
                continue;
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
                case "--subscribers":
                    subscribers = value;
                    break;
                case "--rate":
                    rates = value;
                    break;
                case "--format":
                    formats = value == "both" ? "json,msgpack" : value;
                    break;
                case "--duration":
                    options.Duration = Seconds(name, value, 1, 120);
                    break;
                case "--warmup":
                    options.Warmup = Seconds(name, value, 0, 30);
                    break;
                case "--drain":
                    options.Drain = Seconds(name, value, 1, 60);
                    break;
                case "--decode":
                    options.Decode = value switch
                    {
                        "fast" => DecodeMode.Fast,
                        "full" => DecodeMode.Full,
                        _ => throw new ArgumentException("--decode is fast or full"),
                    };
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
                case "--key":
                    options.Key = value;
                    break;
                case "--quiet-wait":
                    options.QuietWait = Seconds(name, value, 0, 600);
                    break;
                case "--retry-busy":
                    options.RetryBusy = Bounded(Number(value, name), name, 0, 5);
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

        var pairs = subscribers is not null || rates is not null
            ? (from s in List(subscribers ?? "1", "--subscribers") from r in List(rates ?? "1000", "--rate") select (s, r)).ToList()
            : ParseMatrix(Matrices.GetValueOrDefault(scenarios) ?? scenarios);
        var wireFormats = formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => f switch
        {
            "json" => WireFormat.Json,
            "msgpack" => WireFormat.MessagePack,
            _ => throw new ArgumentException($"unknown format {f}"),
        }).ToList();
        options.Scenarios = (from p in pairs from f in wireFormats select new Scenario(Bounded(p.Item1, "--subscribers", 1, MaxSubscribers), Bounded(p.Item2, "--rate", 1, MaxRate), f)).ToList();
        return options;
    }

    private static List<(double, double)> ParseMatrix(string spec) =>
        spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
        {
            var parts = item.Split('x');
            if (parts.Length != 2)
            {
                throw new ArgumentException($"scenario '{item}' is not SUBSCRIBERSxRATE");
            }

            return (Number(parts[0], "--scenarios"), Number(parts[1], "--scenarios"));
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
