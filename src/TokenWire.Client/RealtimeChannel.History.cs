using System.Diagnostics.CodeAnalysis;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>History over REST through the client's HttpClient (reference §5.4).</summary>
public sealed partial class RealtimeChannel
{
    /// <summary>
    /// A page of this channel's history. With <see cref="HistoryRequest.UntilAttach"/> only messages up to the attach
    /// point are returned (<c>from_serial=&lt;attachSerial&gt;</c>): combined with a subscription made before attaching,
    /// every message is seen exactly once, either in history or live.
    /// </summary>
    /// <exception cref="AblyException">UntilAttach on a channel that is not attached (90001).</exception>
    public Task<PaginatedResult<Message>> HistoryAsync(HistoryRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= HistoryRequest.Default;
        string? fromSerial = null;
        if (request.UntilAttach && !TryGetAttachSerial(out fromSerial, out var error))
        {
            return Task.FromException<PaginatedResult<Message>>(error);
        }

        return _rest.HistoryCoreAsync(Name, request, fromSerial, cancellationToken);
    }

    /// <summary>The attach point for <see cref="HistoryRequest.UntilAttach"/>; an error (90001) when not attached.</summary>
    internal bool TryGetAttachSerial([NotNullWhen(true)] out string? serial, [NotNullWhen(false)] out AblyException? error)
    {
        lock (Gate)
        {
            if (_state != ChannelState.Attached || _attachSerial is null)
            {
                serial = null;
                error = new AblyException(90001, $"UntilAttach needs the channel attached; channel '{Name}' is {_state.ToString().ToLowerInvariant()}");
                return false;
            }

            serial = _attachSerial;
            error = null;
            return true;
        }
    }
}
