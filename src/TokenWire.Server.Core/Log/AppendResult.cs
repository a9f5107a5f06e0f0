using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>
/// The outcome of one append: a serial per input message (the original serial for a message whose id was already
/// seen; null for an ephemeral message, which is never stored), and the entries actually appended, in log order,
/// which the caller publishes on the bus. A struct: every publish makes one, and it only carries its lists to the
/// caller.
/// </summary>
public readonly record struct AppendResult(IReadOnlyList<string?> Serials, IReadOnlyList<LogEntry> Appended, string Epoch)
{
    public LogPosition Last => new(Epoch, Appended.Count > 0 ? Appended[^1].Offset : 0);
}
