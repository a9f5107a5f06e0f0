using System.Diagnostics;

namespace TokenWire.Server.Diagnostics;

/// <summary>
/// The server's <see cref="ActivitySource"/>, <c>TokenWire.Server</c>: one span per attach and per history read,
/// never per message. REST requests are ASP.NET Core's own spans, which the history span is a child of.
/// </summary>
public static class ServerTelemetry
{
    public const string SourceName = "TokenWire.Server";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// A span with no parent: a realtime connection's frames run under the WebSocket request, which lives as long as
    /// the connection and is not traced, so an attach starts its own trace. Null (and free) when nobody listens.
    /// Call from an async method: the cleared <see cref="Activity.Current"/> does not flow back to its caller.
    /// </summary>
    public static Activity? StartRoot(string name, ActivityKind kind = ActivityKind.Server)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        return Source.StartActivity(name, kind);
    }
}
