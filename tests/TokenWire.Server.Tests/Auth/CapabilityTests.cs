using System.Text.Json;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Tests.Auth;

public sealed partial class CapabilityTests
{
    [Theory]
    // '*' alone: every normal channel, however many segments, but no qualified name.
    [InlineData("*", "foo", true)]
    [InlineData("*", "foo:bar", true)]
    [InlineData("*", "foo:bar:baz", true)]
    [InlineData("*", "[meta]foo", false)]
    [InlineData("*", "[queue]app:q", false)]
    // A trailing '*' segment: one or more further segments, never none.
    [InlineData("foo:*", "foo", false)]
    [InlineData("foo:*", "foo:bar", true)]
    [InlineData("foo:*", "foo:bar:baz", true)]
    [InlineData("foo:*", "foobar", false)]
    [InlineData("foo:*", "bar:foo", false)]
    [InlineData("foo:*", "fo:bar", false)]
    // '*' in the middle: exactly one whole segment.
    [InlineData("foo:*:baz", "foo:bar:baz", true)]
    [InlineData("foo:*:baz", "foo:qux:baz", true)]
    [InlineData("foo:*:baz", "foo:bar:qux", false)]
    [InlineData("foo:*:baz", "foo:baz", false)]
    [InlineData("foo:*:baz", "foo:bar:baz:qux", false)]
    [InlineData("foo:*:baz", "foo:bar:bar:baz", false)]
    [InlineData("*:bar", "foo:bar", true)]
    [InlineData("*:bar", "foo:baz", false)]
    [InlineData("*:bar", "bar", false)]
    [InlineData("*:*", "foo", false)]
    [InlineData("*:*", "foo:bar", true)]
    [InlineData("*:*", "foo:bar:baz", true)]
    // '*' inside a segment is literal.
    [InlineData("foo*", "foo", false)]
    [InlineData("foo*", "foobar", false)]
    [InlineData("foo*", "foo:bar", false)]
    [InlineData("foo*", "foo*", true)]
    [InlineData("foo:b*", "foo:bar", false)]
    [InlineData("foo:b*", "foo:b*", true)]
    // Plain names match exactly.
    [InlineData("foo", "foo", true)]
    [InlineData("foo", "Foo", false)]
    [InlineData("foo", "foo:bar", false)]
    [InlineData("foo", "foobar", false)]
    [InlineData("foo:bar", "foo:bar", true)]
    [InlineData("foo:bar", "foo", false)]
    // Qualified names need a qualified pattern; '[*]*' matches everything.
    [InlineData("[*]*", "foo", true)]
    [InlineData("[*]*", "foo:bar", true)]
    [InlineData("[*]*", "[meta]foo", true)]
    [InlineData("[*]*", "[queue]app:q", true)]
    [InlineData("[meta]*", "[meta]foo", true)]
    [InlineData("[meta]*", "[meta]foo:bar", true)]
    [InlineData("[meta]*", "[queue]foo", false)]
    [InlineData("[meta]*", "foo", false)]
    [InlineData("[meta]foo", "[meta]foo", true)]
    [InlineData("[meta]foo", "[meta]bar", false)]
    [InlineData("[meta]foo", "foo", false)]
    [InlineData("[*]foo", "[meta]foo", true)]
    [InlineData("[*]foo", "[queue]foo", true)]
    [InlineData("[*]foo", "[meta]bar", false)]
    [InlineData("foo", "[meta]foo", false)]
    public void Matches_follows_ably_wildcard_rules(string pattern, string channel, bool expected)
    {
        Assert.Equal(expected, Capability.Matches(pattern, channel));
    }

    [Fact]
    public void Operations_are_the_union_over_every_matching_resource()
    {
        var capability = Capability.Parse("""
            {"foo:*":["publish"],"foo:bar":["subscribe","presence"],"*":["history"],"other":["stats"]}
            """);

        Assert.Equal(ChannelOperation.Publish | ChannelOperation.Subscribe | ChannelOperation.Presence | ChannelOperation.History, capability.OperationsFor("foo:bar"));
        Assert.Equal(ChannelOperation.Publish | ChannelOperation.History, capability.OperationsFor("foo:baz"));
        Assert.Equal(ChannelOperation.History, capability.OperationsFor("foo"));
        Assert.Equal(ChannelOperation.History | ChannelOperation.Stats, capability.OperationsFor("other"));
        Assert.Equal(ChannelOperation.None, capability.OperationsFor("[meta]foo"));
    }

    [Fact]
    public void Allows_requires_every_requested_operation()
    {
        var capability = Capability.Parse("""{"chat:*":["publish","subscribe"],"chat:lobby":["presence"]}""");

        Assert.True(capability.Allows("chat:lobby", ChannelOperation.Publish | ChannelOperation.Presence));
        Assert.True(capability.Allows("chat:room", ChannelOperation.Subscribe));
        Assert.False(capability.Allows("chat:room", ChannelOperation.Publish | ChannelOperation.Presence));
        Assert.False(capability.Allows("chat", ChannelOperation.Subscribe));
        Assert.False(capability.Allows("news", ChannelOperation.Subscribe));
    }

    [Fact]
    public void Star_operation_grants_every_operation()
    {
        var capability = Capability.Parse("""{"*":["*"]}""");

        Assert.Equal(ChannelOperation.All, capability.OperationsFor("anything:at:all"));
        Assert.True(capability.Allows("x", ChannelOperation.MessageDeleteAny | ChannelOperation.PushAdmin));
        Assert.Equal(ChannelOperation.None, capability.OperationsFor("[meta]x"));
        Assert.Equal(ChannelOperation.All, Capability.All.OperationsFor("x"));
    }

    [Fact]
    public void Every_documented_operation_name_is_accepted()
    {
        string[] names =
        [
            "publish", "subscribe", "presence", "history", "stats", "channel-metadata", "push-subscribe", "push-admin",
            "privileged-headers", "object-subscribe", "object-publish", "annotation-subscribe", "annotation-publish",
            "message-update-own", "message-update-any", "message-delete-own", "message-delete-any",
        ];

        var capability = Capability.Parse(JsonSerializer.Serialize(new Dictionary<string, string[]> { ["c"] = names }));

        Assert.Equal(ChannelOperation.All, capability.OperationsFor("c"));
    }

    [Theory]
    [InlineData("""{"foo":["fly"]}""")]
    [InlineData("""{"foo":["publish","fly"]}""")]
    [InlineData("""{"foo":["Publish"]}""")]
    [InlineData("""{"foo":["*","publish"]}""")]
    [InlineData("""{"foo":["subscribe","*"]}""")]
    [InlineData("""{"foo":[]}""")]
    [InlineData("""{"foo":"publish"}""")]
    [InlineData("""{"foo":null}""")]
    [InlineData("""{"foo":{"publish":true}}""")]
    [InlineData("""{"foo":[1]}""")]
    [InlineData("""{"foo":[null]}""")]
    [InlineData("""{"foo":[["publish"]]}""")]
    [InlineData("""{"ok":["publish"],"bad":[]}""")]
    [InlineData("""[]""")]
    [InlineData("""["publish"]""")]
    [InlineData("\"*\"")]
    [InlineData("1")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"foo":["publish"]""")]
    [InlineData("""{"foo":["publish"]} {}""")]
    [InlineData("not json")]
    public void Invalid_capability_throws_FormatException(string json)
    {
        var ex = Record.Exception(() => Capability.Parse(json));

        Assert.IsType<FormatException>(ex);
    }

    [Fact]
    public void Json_is_canonical_with_resources_and_operations_sorted_and_compact()
    {
        var capability = Capability.Parse("""
            {
              "notifications": ["subscribe"],
              "chat:*": ["presence", "subscribe", "publish"],
              "Chat": ["history"],
              "*": ["*"]
            }
            """);

        Assert.Equal(
            """{"*":["*"],"Chat":["history"],"chat:*":["presence","publish","subscribe"],"notifications":["subscribe"]}""",
            capability.Json);
        Assert.Equal(capability.Json, capability.ToString());
    }

    [Fact]
    public void Canonical_json_parses_back_to_the_same_capability()
    {
        var capability = Capability.Parse("""{"b:*":["subscribe","message-delete-own","channel-metadata"],"a":["*"],"c":["publish"]}""");

        var again = Capability.Parse(capability.Json);

        Assert.Equal(capability.Json, again.Json);
        Assert.Equal(capability.Grants.OrderBy(g => g.Key, StringComparer.Ordinal), again.Grants.OrderBy(g => g.Key, StringComparer.Ordinal));
        Assert.Equal("""{"a":["*"],"b:*":["channel-metadata","message-delete-own","subscribe"],"c":["publish"]}""", capability.Json);
    }

    [Fact]
    public void Empty_object_is_a_capability_that_grants_nothing()
    {
        var capability = Capability.Parse("{}");

        Assert.Equal("{}", capability.Json);
        Assert.Equal(ChannelOperation.None, capability.OperationsFor("foo"));
    }
}
