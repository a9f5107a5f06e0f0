using System.Globalization;
using TokenWire.Protocol;
using TokenWire.Server.Channels;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Connections;

/// <summary>
/// The channel params of an ATTACH (reference §4.5): what the channel should replay (<c>rewind</c> as a count up to
/// 100 or an age such as <c>30s</c>, <c>2m</c>, <c>1h</c>), the modes named by <c>params.modes</c> (which override
/// the mode flags, as in Ably), <c>appendMode=full</c>, <c>delta=vcdiff</c>, and the recognised params echoed in ATTACHED
/// (<c>channel.params</c>). Unknown params are ignored, as in Ably; invalid values of known ones are 40003.
/// </summary>
public sealed record AttachParameters(AttachRequest Request, IReadOnlyDictionary<string, string>? Echoed, ProtocolFlags? Modes, bool WholeAppends, bool Deltas = false)
{
    public static AttachParameters None { get; } = new(AttachRequest.Fresh, null, null, false);

    /// <summary><c>appendMode=full</c>: every append is delivered as the whole message so far (<c>message.update</c>).</summary>
    private const string AppendModeFull = "full";

    private static readonly string[] Recognised = ["appendMode", "delta", "modes", "occupancy", "rewind"];

    private static readonly Dictionary<string, ProtocolFlags> ModeNames = new(StringComparer.Ordinal)
    {
        ["publish"] = ProtocolFlags.Publish,
        ["subscribe"] = ProtocolFlags.Subscribe,
        ["presence"] = ProtocolFlags.Presence,
        ["presence_subscribe"] = ProtocolFlags.PresenceSubscribe,
        ["annotation_publish"] = ProtocolFlags.AnnotationPublish,
        ["annotation_subscribe"] = ProtocolFlags.AnnotationSubscribe,
        ["object_publish"] = ProtocolFlags.ObjectPublish,
        ["object_subscribe"] = ProtocolFlags.ObjectSubscribe,
    };

    public static bool TryParse(IReadOnlyDictionary<string, string>? parameters, out AttachParameters result, out ErrorInfo? error)
    {
        result = None;
        error = null;
        if (parameters is null)
        {
            return true;
        }

        Dictionary<string, string>? echoed = null;
        foreach (var name in Recognised)
        {
            if (parameters.TryGetValue(name, out var value))
            {
                (echoed ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = value;
            }
        }

        var wholeAppends = false;
        if (parameters.TryGetValue("appendMode", out var appendMode))
        {
            if (appendMode != AppendModeFull)
            {
                error = ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Invalid appendMode '{appendMode}': the supported value is '{AppendModeFull}' (omit it for fragments)");
                return false;
            }

            wholeAppends = true;
        }

        var deltas = false;
        if (parameters.TryGetValue("delta", out var delta))
        {
            if (delta != MessageDeltas.Format)
            {
                error = ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Invalid delta '{delta}': the supported format is '{MessageDeltas.Format}'");
                return false;
            }

            deltas = true;
        }

        var request = AttachRequest.Fresh;
        if (parameters.TryGetValue("rewind", out var rewind) && !TryParseRewind(rewind, out request, out error))
        {
            return false;
        }

        var modes = parameters.TryGetValue("modes", out var list) ? ParseModes(list) : (ProtocolFlags?)null;
        result = new AttachParameters(request, echoed, modes, wholeAppends, deltas);
        return true;
    }

    private static ProtocolFlags ParseModes(string list)
    {
        var modes = ProtocolFlags.None;
        foreach (var mode in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            modes |= ModeNames.GetValueOrDefault(mode.ToLowerInvariant());
        }

        return modes;
    }

    private static bool TryParseRewind(string rewind, out AttachRequest request, out ErrorInfo? error)
    {
        request = AttachRequest.Fresh;
        error = null;
        if (int.TryParse(rewind, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count <= 100)
        {
            request = request with { RewindCount = count };
            return true;
        }

        if (rewind.Length >= 2 && long.TryParse(rewind.AsSpan(0, rewind.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? age = rewind[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => null,
            };
            if (age is { } value)
            {
                request = request with { RewindAge = value };
                return true;
            }
        }

        error = ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Invalid rewind '{rewind}': use a count up to 100 or an age such as 30s, 2m, 1h");
        return false;
    }
}
