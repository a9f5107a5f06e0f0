using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Push;

namespace TokenWire.Server.Tests.Push;

/// <summary>Ably's <c>pushEnabled</c> channel rule: per namespace, else the app's; a channel message's <c>extras.push</c> notifies only where it is on.</summary>
public sealed class PushEnabledRuleTests
{
    [Fact]
    public void A_namespace_rule_wins_over_the_apps_and_channels_without_a_namespace_take_the_apps()
    {
        var app = Registry(new AppOptions
        {
            Id = "a",
            PushEnabled = true,
            Namespaces = [new NamespaceOptions { Name = "quiet", PushEnabled = false }, new NamespaceOptions { Name = "persisted", Persisted = true }],
        }).FindApp("a")!;

        Assert.True(app.IsPushEnabled("plain"));
        Assert.True(app.IsPushEnabled("persisted:x"));
        Assert.False(app.IsPushEnabled("quiet:x"));
        Assert.False(app.IsPushEnabled("quiet:x:y"));
    }

    [Fact]
    public void A_configured_app_has_push_off_except_where_a_namespace_enables_it()
    {
        var app = Registry(new AppOptions { Id = "a", Namespaces = [new NamespaceOptions { Name = "notify", PushEnabled = true }] }).FindApp("a")!;

        Assert.True(app.IsPushEnabled("notify:x"));
        Assert.False(app.IsPushEnabled("notify"));
        Assert.False(app.IsPushEnabled("other:x"));
    }

    [Fact]
    public void Extras_push_on_a_channel_without_the_rule_queues_no_notification()
    {
        var options = Options.Create(new TokenWireOptions());
        var apps = Registry(new AppOptions { Id = "a", Namespaces = [new NamespaceOptions { Name = "notify", PushEnabled = true }] });
        var queue = new PushQueue(options, NullLogger<PushQueue>.Instance, apps);
        Message[] messages = [new Message { Name = "n", Extras = JsonPayload.Parse("""{"push":{"notification":{"title":"t"}}}""") }];

        queue.OnPublished("a", "other:x", messages);
        Assert.False(queue.Reader.TryRead(out _));

        queue.OnPublished("a", "notify:x", messages);
        Assert.True(queue.Reader.TryRead(out var job));
        Assert.Equal((PushTargetKind.Channel, "notify:x"), (job.Kind, job.Target));
    }

    private static AppRegistry Registry(AppOptions app)
    {
        app.Keys.Add(new KeyOptions { Id = "k", Secret = "s", Capability = """{"*":["*"]}""" });
        return new AppRegistry(Options.Create(new TokenWireOptions { Apps = [app] }));
    }
}
