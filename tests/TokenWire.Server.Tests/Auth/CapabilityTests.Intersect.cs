using TokenWire.Server.Auth;

namespace TokenWire.Server.Tests.Auth;

/// <summary>Token capability = requested ∩ key (reference §6), with the cases of ably-js test/rest/capability.test.js.</summary>
public sealed partial class CapabilityTests
{
    // The sandbox keys of ably-common's test-app-setup.json that those tests use.
    private const string Key1 = """{"cansubscribe:*":["subscribe"],"canpublish:*":["publish"],"canpublish:andpresence":["presence","publish"],"pushenabled:*":["publish","subscribe","push-subscribe"],"pushenabled:admin:*":["publish","subscribe","push-admin"]}""";
    private const string Key2 = """{"channel0":["publish"],"channel1":["publish"],"channel2":["publish","subscribe"],"channel3":["subscribe"],"channel4":["presence","publish","subscribe"],"channel5":["presence"],"channel6":["*"]}""";
    private const string Key3 = """{"*":["subscribe"]}""";

    [Theory]
    // Equal intersection: the key's own capability comes back unchanged.
    [InlineData(Key1, Key1, Key1)]
    // Ops intersection non-empty: presence is dropped where the key lacks it.
    [InlineData(Key2, """{"channel2":["presence","subscribe"]}""", """{"channel2":["subscribe"]}""")]
    // Paths intersection non-empty: a resource the key does not cover is dropped.
    [InlineData(Key2, """{"channel2":["presence","subscribe"],"channelx":["presence","subscribe"]}""", """{"channel2":["subscribe"]}""")]
    // A wildcard op in the request gets the key's ops; a wildcard op in the key grants the requested ones.
    [InlineData(Key2, """{"channel2":["*"]}""", """{"channel2":["publish","subscribe"]}""")]
    [InlineData(Key2, """{"channel6":["publish","subscribe"]}""", """{"channel6":["publish","subscribe"]}""")]
    // Resource wildcards in the key cover the requested names (and narrower wildcards).
    [InlineData(Key3, """{"cansubscribe":["subscribe"]}""", """{"cansubscribe":["subscribe"]}""")]
    [InlineData(Key1, """{"canpublish:check":["publish"]}""", """{"canpublish:check":["publish"]}""")]
    [InlineData(Key3, """{"cansubscribe:*":["subscribe"]}""", """{"cansubscribe:*":["subscribe"]}""")]
    // A wildcard request against a narrower key yields the key's resource.
    [InlineData("""{"chat:lobby":["publish"]}""", """{"chat:*":["publish","subscribe"]}""", """{"chat:lobby":["publish"]}""")]
    [InlineData("""{"*":["*"]}""", """{"*":["*"]}""", """{"*":["*"]}""")]
    // Several key resources contribute to one requested resource.
    [InlineData("""{"a:*":["publish"],"*":["subscribe"]}""", """{"a:b":["publish","subscribe","presence"]}""", """{"a:b":["publish","subscribe"]}""")]
    public void Intersect_keeps_what_is_both_requested_and_held(string key, string requested, string expected)
    {
        var result = Capability.Parse(key).Intersect(Capability.Parse(requested));

        Assert.Equal(Capability.Parse(expected).Json, result.Json);
    }

    [Theory]
    // Empty ops intersection and empty paths intersection: the token request is refused (401).
    [InlineData(Key1, """{"canpublish:test":["subscribe"]}""")]
    [InlineData(Key2, """{"channelx":["publish"]}""")]
    [InlineData(Key3, """{"[meta]x":["subscribe"]}""")]
    public void Intersect_with_nothing_in_common_is_empty(string key, string requested)
    {
        Assert.True(Capability.Parse(key).Intersect(Capability.Parse(requested)).IsEmpty);
    }
}
