using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol.MessagePack;

/// <summary>Writes protocol types as MessagePack maps, counting set fields first because maps are length-prefixed.</summary>
public static class MessagePackProtocolWriter
{
    public static void WriteProtocolMessage(ref MessagePackWriter writer, ProtocolMessage pm)
    {
        var count = 1 + Has(pm.Flags != ProtocolFlags.None) + Has(pm.Count) + Has(pm.Error) + Has(pm.Id) + Has(pm.Channel)
            + Has(pm.ChannelSerial) + Has(pm.ConnectionId) + Has(pm.MsgSerial) + Has(pm.Timestamp) + Has(pm.Messages)
            + Has(pm.Presence) + Has(pm.Annotations) + Has(pm.AuthAccessToken) + Has(pm.ConnectionDetails)
            + Has(pm.Params is { Count: > 0 }) + Has(pm.Res);
        writer.WriteMapHeader(count);
        writer.Write("action");
        writer.Write((int)pm.Action);
        if (pm.Flags != ProtocolFlags.None)
        {
            writer.Write("flags");
            writer.Write((int)pm.Flags);
        }

        if (pm.Count is { } c)
        {
            writer.Write("count");
            writer.Write(c);
        }

        if (pm.Error is { } error)
        {
            writer.Write("error");
            WriteError(ref writer, error);
        }

        WriteIfSet(ref writer, "id", pm.Id);
        WriteIfSet(ref writer, "channel", pm.Channel);
        WriteIfSet(ref writer, "channelSerial", pm.ChannelSerial);
        WriteIfSet(ref writer, "connectionId", pm.ConnectionId);
        if (pm.MsgSerial is { } msgSerial)
        {
            writer.Write("msgSerial");
            writer.Write(msgSerial);
        }

        if (pm.Timestamp is { } timestamp)
        {
            writer.Write("timestamp");
            writer.Write(timestamp);
        }

        if (pm.Messages is { } messages)
        {
            writer.Write("messages");
            writer.WriteArrayHeader(messages.Count);
            foreach (var message in messages)
            {
                WriteMessage(ref writer, message);
            }
        }

        if (pm.Presence is { } presence)
        {
            writer.Write("presence");
            writer.WriteArrayHeader(presence.Count);
            foreach (var item in presence)
            {
                WriteMessage(ref writer, item.ToMessage());
            }
        }

        if (pm.Annotations is { } annotations)
        {
            writer.Write("annotations");
            writer.WriteArrayHeader(annotations.Count);
            foreach (var annotation in annotations)
            {
                WriteAnnotation(ref writer, annotation);
            }
        }

        if (pm.AuthAccessToken is { } token)
        {
            writer.Write("auth");
            writer.WriteMapHeader(1);
            writer.Write("accessToken");
            writer.Write(token);
        }

        if (pm.ConnectionDetails is { } details)
        {
            writer.Write("connectionDetails");
            WriteConnectionDetails(ref writer, details);
        }

        if (pm.Params is { Count: > 0 } parameters)
        {
            writer.Write("params");
            writer.WriteMapHeader(parameters.Count);
            foreach (var (key, value) in parameters)
            {
                writer.Write(key);
                writer.Write(value);
            }
        }

        if (pm.Res is { } res)
        {
            writer.Write("res");
            writer.WriteArrayHeader(res.Count);
            for (var r = 0; r < res.Count; r++) // indexed: an interface's enumerator is an allocation per ACK
            {
                var serials = res[r].Serials;
                writer.WriteMapHeader(1);
                writer.Write("serials");
                writer.WriteArrayHeader(serials.Count);
                for (var s = 0; s < serials.Count; s++)
                {
                    var serial = serials[s];
                    if (serial is null)
                    {
                        writer.WriteNil();
                    }
                    else
                    {
                        writer.Write(serial);
                    }
                }
            }
        }
    }

    /// <summary>TM2 in MessagePack: binary data is written as <c>bin</c>, with no base64 step.</summary>
    public static void WriteMessage(ref MessagePackWriter writer, Message m) => WriteMessage(ref writer, m, null, withPosition: true);

    /// <param name="withPosition">
    /// False to leave out <c>serial</c> and <c>timestamp</c>: a log stores a message without them and gives them back
    /// from the entry's offset and time.
    /// </param>
    public static void WriteMessage(ref MessagePackWriter writer, Message m, bool withPosition) => WriteMessage(ref writer, m, null, withPosition);

    /// <summary>A message in a frame that carries <paramref name="inherited"/> for it (<see cref="MessageFrames"/>).</summary>
    public static void WriteMessage(ref MessagePackWriter writer, Message m, InheritedFields inherited) => WriteMessage(ref writer, m, null, withPosition: true, inherited);

    /// <summary>TAN2: the message fields an annotation shares, then its own.</summary>
    public static void WriteAnnotation(ref MessagePackWriter writer, Annotation annotation) =>
        WriteMessage(ref writer, annotation.ToCarrier(), AnnotationFields.Of(annotation), withPosition: true);

    private static void WriteMessage(ref MessagePackWriter writer, Message m, AnnotationFields? annotation, bool withPosition, InheritedFields inherited = InheritedFields.None)
    {
        var timestamp = withPosition && (inherited & InheritedFields.Timestamp) == 0 ? m.Timestamp : null;
        var serial = withPosition ? m.Serial : null;
        var connectionId = (inherited & InheritedFields.ConnectionId) == 0 ? m.ConnectionId : null;
        var count = Has(m.Id) + Has(m.Name) + Has(!m.Data.IsNone) + Has(m.Encoding) + Has(m.ClientId) + Has(connectionId)
            + Has(m.ConnectionKey) + Has(timestamp) + Has(m.Extras) + Has(m.Action) + Has(serial) + Has(m.Version)
            + Has(m.Annotations) + (annotation is null ? 0 : Has(annotation.MessageSerial) + Has(annotation.Type) + Has(annotation.Count));
        writer.WriteMapHeader(count);
        WriteIfSet(ref writer, "id", m.Id);
        WriteIfSet(ref writer, "name", m.Name);
        if (m.Data.Text is { } text)
        {
            writer.Write("data");
            writer.Write(text);
        }
        else if (m.Data.Bytes is { } bytes)
        {
            writer.Write("data");
            writer.Write(bytes);
        }

        WriteIfSet(ref writer, "encoding", m.Encoding);
        WriteIfSet(ref writer, "clientId", m.ClientId);
        WriteIfSet(ref writer, "connectionId", connectionId);
        WriteIfSet(ref writer, "connectionKey", m.ConnectionKey);
        if (timestamp is { } time)
        {
            writer.Write("timestamp");
            writer.Write(time);
        }

        if (m.Extras is { } extras)
        {
            writer.Write("extras");
            PayloadTranscoder.JsonToMessagePack(extras.Utf8Json.Span, ref writer);
        }

        if (m.Action is { } action)
        {
            writer.Write("action");
            writer.Write(action);
        }

        WriteIfSet(ref writer, "serial", serial);
        if (m.Version is { } version)
        {
            writer.Write("version");
            PayloadTranscoder.JsonToMessagePack(version.Utf8Json.Span, ref writer);
        }

        if (m.Annotations is { } summary)
        {
            writer.Write("annotations");
            PayloadTranscoder.JsonToMessagePack(summary.Utf8Json.Span, ref writer);
        }

        if (annotation is not null)
        {
            WriteIfSet(ref writer, "messageSerial", annotation.MessageSerial);
            WriteIfSet(ref writer, "type", annotation.Type);
            if (annotation.Count is { } annotationCount)
            {
                writer.Write("count");
                writer.Write(annotationCount);
            }
        }
    }

    public static void WriteError(ref MessagePackWriter writer, ErrorInfo error)
    {
        writer.WriteMapHeader(4);
        writer.Write("code");
        writer.Write(error.Code);
        writer.Write("statusCode");
        writer.Write(error.StatusCode);
        writer.Write("message");
        writer.Write(error.Message);
        writer.Write("href");
        writer.Write(error.Href);
    }

    private static void WriteConnectionDetails(ref MessagePackWriter writer, ConnectionDetails d)
    {
        writer.WriteMapHeader(7 + Has(d.ClientId) + Has(d.ServerId));
        writer.Write("connectionKey");
        writer.Write(d.ConnectionKey);
        WriteIfSet(ref writer, "clientId", d.ClientId);
        writer.Write("maxMessageSize");
        writer.Write(d.MaxMessageSize);
        writer.Write("maxInboundRate");
        writer.Write(d.MaxInboundRate);
        writer.Write("maxOutboundRate");
        writer.Write(d.MaxOutboundRate);
        writer.Write("maxFrameSize");
        writer.Write(d.MaxFrameSize);
        WriteIfSet(ref writer, "serverId", d.ServerId);
        writer.Write("connectionStateTtl");
        writer.Write(d.ConnectionStateTtl);
        writer.Write("maxIdleInterval");
        writer.Write(d.MaxIdleInterval);
    }

    private static void WriteIfSet(ref MessagePackWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.Write(name);
            writer.Write(value);
        }
    }

    private static int Has(bool condition) => condition ? 1 : 0;

    private static int Has(object? value) => value is null ? 0 : 1;

    // Separate overload so nullable numbers are not boxed on the per-message path.
    private static int Has<T>(T? value)
        where T : struct => value.HasValue ? 1 : 0;
}
