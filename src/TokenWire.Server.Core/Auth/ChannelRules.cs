using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;
using TokenWire.Server.Log;

namespace TokenWire.Server.Auth;

/// <summary>Resolves per-channel rules (history retention, mutable messages) from the app's namespaces and the history options.</summary>
public sealed class ChannelRules(IOptions<TokenWireOptions> options)
{
    private readonly HistoryOptions _history = options.Value.History;

    public ChannelRetention RetentionFor(AppDefinition app, string channelName)
    {
        // Mutable channels are persisted, as Ably's rule implies: a message outlives its versions' window otherwise.
        var mutable = app.IsMutable(channelName);
        return new(
            mutable || app.IsPersisted(channelName) ? _history.PersistedRetention : _history.DefaultRetention,
            _history.MaxMessagesPerChannel,
            _history.IdempotencyWindow,
            mutable);
    }
}
