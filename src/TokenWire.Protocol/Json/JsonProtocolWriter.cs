using System.Text.Json;

namespace TokenWire.Protocol.Json;

/// <summary>Writes protocol types as JSON. Shared by the realtime codec and the REST responses.</summary>
public static class JsonProtocolWriter
{
    private static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText Flags = JsonEncodedText.Encode("flags");
    private static readonly JsonEncodedText Count = JsonEncodedText.Encode("count");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText ChannelSerial = JsonEncodedText.Encode("channelSerial");
    private static readonly JsonEncodedText ConnectionId = JsonEncodedText.Encode("connectionId");
    private static readonly JsonEncodedText ConnectionKey = JsonEncodedText.Encode("connectionKey");
    private static readonly JsonEncodedText MsgSerial = JsonEncodedText.Encode("msgSerial");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText Messages = JsonEncodedText.Encode("messages");
    private static readonly JsonEncodedText Presence = JsonEncodedText.Encode("presence");
    private static readonly JsonEncodedText Auth = JsonEncodedText.Encode("auth");
    private static readonly JsonEncodedText AccessToken = JsonEncodedText.Encode("accessToken");
    private static readonly JsonEncodedText ConnectionDetails = JsonEncodedText.Encode("connectionDetails");
    private static readonly JsonEncodedText Params = JsonEncodedText.Encode("params");
    private static readonly JsonEncodedText Res = JsonEncodedText.Encode("res");
    private static readonly JsonEncodedText Serials = JsonEncodedText.Encode("serials");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText Data = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText Encoding = JsonEncodedText.Encode("encoding");
    private static readonly JsonEncodedText ClientId = JsonEncodedText.Encode("clientId");
    private static readonly JsonEncodedText Extras = JsonEncodedText.Encode("extras");
    private static readonly JsonEncodedText Serial = JsonEncodedText.Encode("serial");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
    private static readonly JsonEncodedText StatusCode = JsonEncodedText.Encode("statusCode");
    private static readonly JsonEncodedText MessageField = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText Href = JsonEncodedText.Encode("href");
    private static readonly JsonEncodedText AnnotationsField = JsonEncodedText.Encode("annotations");
    private static readonly JsonEncodedText MessageSerial = JsonEncodedText.Encode("messageSerial");
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");

    public static void WriteProtocolMessage(Utf8JsonWriter writer, ProtocolMessage pm)
    {
        writer.WriteStartObject();
        writer.WriteNumber(Action, (int)pm.Action);
        if (pm.Flags != ProtocolFlags.None)
        {
            writer.WriteNumber(Flags, (int)pm.Flags);
        }

        if (pm.Count is { } count)
        {
            writer.WriteNumber(Count, count);
        }

        if (pm.Error is { } error)
        {
            writer.WritePropertyName(Error);
            WriteError(writer, error);
        }

        WriteStringIfSet(writer, Id, pm.Id);
        WriteStringIfSet(writer, Channel, pm.Channel);
        WriteStringIfSet(writer, ChannelSerial, pm.ChannelSerial);
        WriteStringIfSet(writer, ConnectionId, pm.ConnectionId);
        if (pm.MsgSerial is { } msgSerial)
        {
            writer.WriteNumber(MsgSerial, msgSerial);
        }

        if (pm.Timestamp is { } timestamp)
        {
            writer.WriteNumber(Timestamp, timestamp);
        }

        if (pm.Messages is { } messages)
        {
            writer.WriteStartArray(Messages);
            foreach (var message in messages)
            {
                WriteMessage(writer, message);
            }

            writer.WriteEndArray();
        }

        if (pm.Presence is { } presence)
        {
            writer.WriteStartArray(Presence);
            foreach (var item in presence)
            {
                WriteMessage(writer, item.ToMessage());
            }

            writer.WriteEndArray();
        }

        if (pm.Annotations is { } annotations)
        {
            writer.WriteStartArray(AnnotationsField);
            foreach (var annotation in annotations)
            {
                WriteAnnotation(writer, annotation);
            }

            writer.WriteEndArray();
        }

        if (pm.AuthAccessToken is { } token)
        {
            writer.WriteStartObject(Auth);
            writer.WriteString(AccessToken, token);
            writer.WriteEndObject();
        }

        if (pm.ConnectionDetails is { } details)
        {
            writer.WritePropertyName(ConnectionDetails);
            WriteConnectionDetails(writer, details);
        }

        if (pm.Params is { Count: > 0 } parameters)
        {
            writer.WriteStartObject(Params);
            foreach (var (key, value) in parameters)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        if (pm.Res is { } res)
        {
            writer.WriteStartArray(Res);
            for (var r = 0; r < res.Count; r++) // indexed: an interface's enumerator is an allocation per ACK
            {
                var serials = res[r].Serials;
                writer.WriteStartObject();
                writer.WriteStartArray(Serials);
                for (var s = 0; s < serials.Count; s++)
                {
                    var serial = serials[s];
                    if (serial is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        writer.WriteStringValue(serial);
                    }
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>TM2: every set field; binary data becomes base64 with the step appended to <c>encoding</c>.</summary>
    public static void WriteMessage(Utf8JsonWriter writer, Message message) => WriteMessage(writer, message, null);

    public static void WriteMessage(Utf8JsonWriter writer, Message message, InheritedFields inherited) => WriteMessage(writer, message, null, inherited);

    /// <summary>TAN2: the message fields an annotation shares, then its own.</summary>
    public static void WriteAnnotation(Utf8JsonWriter writer, Annotation annotation) =>
        WriteMessage(writer, annotation.ToCarrier(), AnnotationFields.Of(annotation));

    private static void WriteMessage(Utf8JsonWriter writer, Message message, AnnotationFields? annotation, InheritedFields inherited = InheritedFields.None)
    {
        writer.WriteStartObject();
        WriteStringIfSet(writer, Id, message.Id);
        WriteStringIfSet(writer, Name, message.Name);
        var encoding = message.Encoding;
        var data = message.Data;
        if (data.Text is { } text)
        {
            writer.WriteString(Data, text);
        }
        else if (data.Bytes is { } bytes)
        {
            writer.WriteBase64String(Data, bytes);
            encoding = ProtocolCodecs.AppendEncoding(encoding, "base64");
        }

        WriteStringIfSet(writer, Encoding, encoding);
        WriteStringIfSet(writer, ClientId, message.ClientId);
        if ((inherited & InheritedFields.ConnectionId) == 0)
        {
            WriteStringIfSet(writer, ConnectionId, message.ConnectionId);
        }

        WriteStringIfSet(writer, ConnectionKey, message.ConnectionKey);
        if ((inherited & InheritedFields.Timestamp) == 0 && message.Timestamp is { } timestamp)
        {
            writer.WriteNumber(Timestamp, timestamp);
        }

        if (message.Extras is { } extras)
        {
            writer.WritePropertyName(Extras);
            writer.WriteRawValue(extras.Utf8Json.Span, skipInputValidation: true);
        }

        if (message.Action is { } action)
        {
            writer.WriteNumber(Action, action);
        }

        WriteStringIfSet(writer, Serial, message.Serial);
        if (message.Version is { } version)
        {
            writer.WritePropertyName(Version);
            writer.WriteRawValue(version.Utf8Json.Span, skipInputValidation: true);
        }

        if (message.Annotations is { } summary)
        {
            writer.WritePropertyName(AnnotationsField);
            writer.WriteRawValue(summary.Utf8Json.Span, skipInputValidation: true);
        }

        if (annotation is not null)
        {
            WriteStringIfSet(writer, MessageSerial, annotation.MessageSerial);
            WriteStringIfSet(writer, Type, annotation.Type);
            if (annotation.Count is { } count)
            {
                writer.WriteNumber(Count, count);
            }
        }

        writer.WriteEndObject();
    }

    public static void WriteError(Utf8JsonWriter writer, ErrorInfo error)
    {
        writer.WriteStartObject();
        writer.WriteNumber(Code, error.Code);
        writer.WriteNumber(StatusCode, error.StatusCode);
        writer.WriteString(MessageField, error.Message);
        writer.WriteString(Href, error.Href);
        writer.WriteEndObject();
    }

    private static void WriteConnectionDetails(Utf8JsonWriter writer, ConnectionDetails details)
    {
        writer.WriteStartObject();
        writer.WriteString(ConnectionKey, details.ConnectionKey);
        WriteStringIfSet(writer, ClientId, details.ClientId);
        writer.WriteNumber("maxMessageSize", details.MaxMessageSize);
        writer.WriteNumber("maxInboundRate", details.MaxInboundRate);
        writer.WriteNumber("maxOutboundRate", details.MaxOutboundRate);
        writer.WriteNumber("maxFrameSize", details.MaxFrameSize);
        WriteStringIfSet(writer, JsonEncodedText.Encode("serverId"), details.ServerId);
        writer.WriteNumber("connectionStateTtl", details.ConnectionStateTtl);
        writer.WriteNumber("maxIdleInterval", details.MaxIdleInterval);
        writer.WriteEndObject();
    }

    private static void WriteStringIfSet(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
