using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// The comet endpoints ably-js falls back to when WebSockets are blocked (<c>comet</c> in Node, <c>xhr_polling</c> in
/// browsers): <c>GET /comet/connect</c> (the WebSocket's connect parameters, plus <c>stream</c>) answers CONNECTED,
/// then <c>GET /comet/{connectionKey}/recv</c> long-polls (or streams) arrays of ProtocolMessages,
/// <c>POST …/send</c> takes an array, <c>…/close</c> and <c>…/disconnect</c> end the connection or just the transport.
/// The connection key in the path is the credential, as it is for a resume. JSON unless <c>format=msgpack</c> (ably-js
/// always uses JSON on comet).
/// </summary>
public sealed partial class CometEndpoint(ConnectionAdmission admission, RealtimeServices services, CometTransports transports, IHostApplicationLifetime lifetime, ILogger<CometEndpoint> logger)
{
    public async Task ConnectAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var requestedFormat = query["format"].ToString();
        WireFormat? format = requestedFormat switch
        {
            "msgpack" => WireFormat.MessagePack,
            "json" or "" => WireFormat.Json,
            _ => null,
        };
        if (format is null)
        {
            await RefuseAsync(context.Response, WireFormat.Json, ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Unsupported format '{requestedFormat}'; use json or msgpack")).ConfigureAwait(false);
            return;
        }

        if (admission.VersionRefusal(query["v"].ToString()) is { } versionError)
        {
            await RefuseAsync(context.Response, format.Value, versionError).ConfigureAwait(false);
            return;
        }

        // Comet requests come on many HTTP connections, so the host's stopping (not one connection's) drains them.
        var drainRequested = lifetime.ApplicationStopping;
        if (drainRequested.IsCancellationRequested)
        {
            await RefuseAsync(context.Response, format.Value, RealtimeTransport.ShuttingDown(), ProtocolAction.Disconnected).ConfigureAwait(false);
            return;
        }

        // ably-js streams unless told otherwise (xhr_polling sends stream=false).
        var stream = !string.Equals(query["stream"], "false", StringComparison.OrdinalIgnoreCase);
        var admitted = await admission.AdmitAsync(
            query,
            (connection, parameters) => new CometTransport(format.Value, stream, parameters.Echo, parameters.AppendRollupWindow, connection, services, transports),
            context.RequestAborted).ConfigureAwait(false);
        if (admitted.Transport is not CometTransport transport)
        {
            await RefuseAsync(context.Response, format.Value, admitted.Refusal!, admitted.RefusalAction).ConfigureAwait(false);
            return;
        }

        transport.Session.SendConnected(admitted.ResumeError);
        _ = RunAsync(transport, drainRequested);
        await transport.ReceiveAsync(context.Response, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task ReceiveAsync(HttpContext context, string key)
    {
        if (transports.Find(key) is not { } transport)
        {
            await WriteGoneAsync(context.Response, RequestedFormat(context.Request)).ConfigureAwait(false);
            return;
        }

        await transport.ReceiveAsync(context.Response, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task SendAsync(HttpContext context, string key)
    {
        if (transports.Find(key) is not { } transport)
        {
            await WriteGoneAsync(context.Response, RequestedFormat(context.Request)).ConfigureAwait(false);
            return;
        }

        var format = context.Request.ContentType?.StartsWith("application/x-msgpack", StringComparison.OrdinalIgnoreCase) == true ? WireFormat.MessagePack
            : context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true ? WireFormat.Json
            : transport.Format;
        List<ProtocolMessage> messages;
        try
        {
            messages = CometFrames.ReadArray(format, await ReadBodyAsync(context.Request.BodyReader, services.Options.Limits.MaxFrameSize, context.RequestAborted).ConfigureAwait(false));
        }
        catch (ProtocolException ex)
        {
            // As a malformed WebSocket frame: the connection fails, the ERROR going out on the client's recv.
            MalformedSend(logger, transport.ConnectionId, ex.Error.Message);
            transport.Fail(ex.Error);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            return;
        }

        if (!await transport.HandleAsync(messages).ConfigureAwait(false))
        {
            // Ended meanwhile: what was not handled is retransmitted after the resume.
            await WriteGoneAsync(context.Response, format).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary><c>…/close</c> is a CLOSE (the connection ends, its presence members leave), <c>…/disconnect</c> a DISCONNECT.</summary>
    public async Task EndAsync(HttpContext context, string key, bool close)
    {
        if (transports.Find(key) is { } transport)
        {
            await transport.HandleAsync([new ProtocolMessage(close ? ProtocolAction.Close : ProtocolAction.Disconnect)]).ConfigureAwait(false);
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>
    /// A comet request for a connection key this node does not hold (it lives on another node, or ended): an array
    /// with DISCONNECTED, which ably-js reads whatever the status, so it reconnects with <c>resume</c> and the
    /// connection continues wherever the store has it. A 4xxxx error code would fail the connection instead.
    /// </summary>
    internal static Task WriteGoneAsync(HttpResponse response, WireFormat format)
    {
        var error = new ErrorInfo(ErrorCodes.ConnectionDisconnected, 404, "Connection not served by this server (it moved or ended); reconnect to resume it");
        return WriteArrayAsync(response, format, StatusCodes.Status404NotFound, new ProtocolMessage(ProtocolAction.Disconnected) { Error = error });
    }

    private static Task RefuseAsync(HttpResponse response, WireFormat format, ErrorInfo error, ProtocolAction action = ProtocolAction.Error) =>
        WriteArrayAsync(response, format, error.StatusCode is >= 400 and < 600 ? error.StatusCode : StatusCodes.Status400BadRequest, new ProtocolMessage(action) { Error = error });

    private static async Task WriteArrayAsync(HttpResponse response, WireFormat format, int status, ProtocolMessage message)
    {
        var body = CometFrames.Single(format, message);
        response.StatusCode = status;
        response.ContentType = CometFrames.ContentType(format);
        response.ContentLength = body.Length;
        if (message.Error is { } error)
        {
            // Browsers read an error body only when this header is present.
            response.Headers["x-ably-errorcode"] = error.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private static WireFormat RequestedFormat(HttpRequest request) =>
        request.Query["format"] == "msgpack" || request.Headers.Accept.ToString().StartsWith("application/x-msgpack", StringComparison.OrdinalIgnoreCase) ? WireFormat.MessagePack : WireFormat.Json;

    private static async Task<ReadOnlySequence<byte>> ReadBodyAsync(PipeReader reader, int maxBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(result.Buffer.Start);
                throw new ProtocolException(ErrorCodes.MessageTooLarge, $"Comet send larger than the maximum frame size of {maxBytes} bytes");
            }

            if (result.IsCompleted)
            {
                // Copied: the pipe's buffer is released once the body has been read.
                var copy = new ReadOnlySequence<byte>(result.Buffer.ToArray());
                reader.AdvanceTo(result.Buffer.End);
                return copy;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private async Task RunAsync(CometTransport transport, CancellationToken drainRequested)
    {
        try
        {
            await transport.RunAsync(drainRequested).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            TransportFailed(logger, ex, transport.ConnectionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} (comet): malformed send: {Reason}")]
    private static partial void MalformedSend(ILogger logger, string connectionId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId} (comet): the transport failed")]
    private static partial void TransportFailed(ILogger logger, Exception exception, string connectionId);
}
