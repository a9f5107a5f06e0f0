namespace TokenWire.Protocol.Tests.Support;

/// <summary>What each hand-written server frame (Frames/server, accepted by the real SDK) must decode to.</summary>
internal static class ServerFrameExpectations
{
    public static void AssertKeyFields(string name, ProtocolMessage pm)
    {
        switch (name)
        {
            case "01-connected":
                {
                    Assert.Equal(ProtocolAction.Connected, pm.Action);
                    Assert.Equal("conn-fx", pm.ConnectionId);
                    var d = Assert.IsType<ConnectionDetails>(pm.ConnectionDetails);
                    Assert.Equal("key-fx!abc123", d.ConnectionKey);
                    Assert.Equal("carol", d.ClientId);
                    Assert.Equal(65536, d.MaxMessageSize);
                    Assert.Equal(250, d.MaxInboundRate);
                    Assert.Equal(100, d.MaxOutboundRate);
                    Assert.Equal(524288, d.MaxFrameSize);
                    Assert.Equal("tokenwire-1", d.ServerId);
                    Assert.Equal(120000, d.ConnectionStateTtl);
                    Assert.Equal(15000, d.MaxIdleInterval);
                    break;
                }

            case "02-attached-flags":
                Assert.Equal(ProtocolAction.Attached, pm.Action);
                Assert.Equal("fx", pm.Channel);
                Assert.Equal("fx-ser:0", pm.ChannelSerial);
                Assert.Equal(983042, (int)pm.Flags);
                Assert.True(pm.HasFlag(ProtocolFlags.HasBacklog));
                Assert.False(pm.HasFlag(ProtocolFlags.Resumed));
                Assert.Equal("1", Assert.Contains("rewind", pm.Params!));
                break;
            case "03-message-delivery":
                {
                    Assert.Equal(ProtocolAction.Message, pm.Action);
                    Assert.Equal("conn-pub:7", pm.Id);
                    Assert.Equal("conn-pub", pm.ConnectionId);
                    Assert.Equal("fx", pm.Channel);
                    Assert.Equal("fx-ser:1", pm.ChannelSerial);
                    Assert.Equal(1700000000123, pm.Timestamp);
                    var messages = pm.Messages!;
                    Assert.Equal(3, messages.Count);

                    Assert.Equal("conn-pub:7:0", messages[0].Id);
                    Assert.Equal("dave", messages[0].ClientId);
                    Assert.Equal("conn-pub", messages[0].ConnectionId);
                    Assert.Equal(1700000000123, messages[0].Timestamp);
                    Assert.Equal("greeting", messages[0].Name);
                    Assert.Equal("Hello", messages[0].Data.Text);
                    Assert.Null(messages[0].Encoding);
                    ProtocolAssert.JsonEquivalent("""{"headers":{"responseId":"r1"}}""", messages[0].Extras!.ToString());
                    Assert.Equal("01700000000123-000@tokenwire:0", messages[0].Serial);
                    Assert.Equal(0, messages[0].Action);

                    Assert.Null(messages[1].Id);
                    Assert.Equal("token", messages[1].Name);
                    Assert.Equal("""{"token":"Hel"}""", messages[1].Data.Text);
                    Assert.Equal("json", messages[1].Encoding);
                    Assert.Equal("01700000000123-000@tokenwire:1", messages[1].Serial);

                    Assert.Equal("bin", messages[2].Name);
                    Assert.Equal([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff], messages[2].Data.Bytes);
                    Assert.Null(messages[2].Encoding);
                    Assert.Equal("01700000000123-000@tokenwire:2", messages[2].Serial);
                    break;
                }

            case "04-ack-res":
                Assert.Equal(ProtocolAction.Ack, pm.Action);
                Assert.Equal(0, pm.MsgSerial);
                Assert.Equal(2, pm.Count);
                Assert.NotNull(pm.Res);
                Assert.Equal(2, pm.Res.Count);
                Assert.Equal(["01700000000200-000@tokenwire:0"], pm.Res[0].Serials);
                Assert.Equal(["01700000000201-000@tokenwire:0", "01700000000201-000@tokenwire:1"], pm.Res[1].Serials);
                break;
            case "05-nack-error":
                Assert.Equal(ProtocolAction.Nack, pm.Action);
                Assert.Equal(2, pm.MsgSerial);
                Assert.Equal(1, pm.Count);
                Assert.Equal(new ErrorInfo(40160, 401, "Unable to perform channel operation (permission denied)"), pm.Error);
                break;
            case "06-error-channel":
                Assert.Equal(ProtocolAction.Error, pm.Action);
                Assert.Equal("fx-denied", pm.Channel);
                Assert.Equal(40160, pm.Error!.Code);
                Assert.Equal(401, pm.Error.StatusCode);
                Assert.Equal("Channel denied access based on given capability; channelId = fx-denied", pm.Error.Message);
                break;
            case "07-error-connection":
                Assert.Equal(ProtocolAction.Error, pm.Action);
                Assert.Null(pm.Channel);
                Assert.Equal(new ErrorInfo(40101, 401, "Invalid credentials"), pm.Error);
                break;
            default:
                Assert.Fail($"No expectations written for server frame '{name}': add them here");
                break;
        }
    }
}
