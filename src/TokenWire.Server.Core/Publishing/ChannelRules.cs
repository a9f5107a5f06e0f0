using Microsoft.Extensions.Options;
using TokenWire.Server.Auth;
using TokenWire.Server.Hosting;
using TokenWire.Server.Log;

namespace TokenWire.Server.Publishing;

/// <summary>Resolves per-channel rules (history retention) from the app's namespaces and the history options.</summary>
public sealed class ChannelRules(IOptions<TokenWireOptions> options)
{
    private readonly HistoryOptions _history = options.Value.History;

    public ChannelRetention RetentionFor(AppDefinition app, string channelName) => new(
        app.IsPersisted(channelName) ? _history.PersistedRetention : _history.DefaultRetention,
        _history.MaxMessagesPerChannel,
        _history.IdempotencyWindow);
}
