using TokenWire.Protocol;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// What the realtime endpoint accepts before CONNECTED: the protocol version (<c>v</c>) and the wire format. Refusals
/// are an ERROR frame the client can read, then a close frame, as Ably refuses them.
/// </summary>
public sealed class RealtimeEndpointTests : IAsyncLifetime
{
    private static readonly string RootKey = Uri.EscapeDataString(InProcessServer.RootKey);

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("v=6", "json")]
    [InlineData("v=6", "msgpack")]
    [InlineData("v=5", "json")]
    [InlineData("v=5", "msgpack")]
    public async Task The_protocol_versions_whose_wire_the_server_speaks_connect(string version, string format)
    {
        await using var socket = await _server.ConnectAsync($"key={RootKey}&format={format}&{version}");

        var first = await socket.WaitForAsync(_ => true, "the first frame");

        Assert.Equal(ProtocolAction.Connected, first.Action);
    }

    [Theory]
    [InlineData("v=1", "json")]
    [InlineData("v=2", "msgpack")]
    [InlineData("v=4", "json")]
    [InlineData("v=7", "json")]
    [InlineData("v=7", "msgpack")]
    [InlineData("v=abc", "json")]
    [InlineData("v=6.0", "json")]
    [InlineData("v=1.2", "msgpack")]
    [InlineData("v=", "json")]
    [InlineData("", "json")]
    [InlineData("", "msgpack")]
    public async Task Any_other_protocol_version_is_refused_with_40017_before_CONNECTED(string version, string format)
    {
        await using var socket = await _server.ConnectAsync($"key={RootKey}&format={format}&{version}");

        await AssertRefusedAsync(socket, ErrorCodes.UnsupportedProtocolVersion);
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("JSON")]
    [InlineData("thrift")]
    [InlineData("msgpack2")]
    public async Task An_unknown_format_is_refused_with_40003_in_JSON_before_CONNECTED(string format)
    {
        // The socket decodes what it receives as JSON (any format other than msgpack): the refusal must be JSON.
        await using var socket = await _server.ConnectAsync($"key={RootKey}&format={format}&v=6");

        await AssertRefusedAsync(socket, ErrorCodes.InvalidParameterValue);
    }

    [Fact]
    public async Task Without_a_format_the_connection_speaks_JSON()
    {
        await using var socket = await _server.ConnectAsync($"key={RootKey}&v=6");

        Assert.Equal(ProtocolAction.Connected, (await socket.WaitForAsync(_ => true, "the first frame")).Action);
    }

    private static async Task AssertRefusedAsync(RawRealtimeSocket socket, int code)
    {
        await socket.Closed.Within();
        var frame = Assert.Single(socket.Frames);
        Assert.Equal(ProtocolAction.Error, frame.Action);
        Assert.Equal(code, frame.Error?.Code);
        Assert.Equal(400, frame.Error?.StatusCode);
        Assert.NotNull(socket.CloseStatus);
    }
}
