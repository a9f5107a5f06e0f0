using System.Text.Json.Nodes;
using TokenWire.AITransport.Conversation;
using TokenWire.AITransport.Wire;

namespace TokenWire.AITransport.Tests;

public class RunIdentityTests
{
    private static readonly Dictionary<string, UIMessage> Conversation = new()
    {
        ["u1"] = new UIMessage("u1", "user"),
        ["a1"] = new UIMessage("a1", "assistant") { Parent = "u1" },
        ["u2"] = new UIMessage("u2", "user") { Parent = "a1" },
    };

    [Fact]
    public void A_fresh_input_starts_a_new_run_that_follows_the_input()
    {
        var run = RunIdentity.ForTrigger(Trigger("u2", new() { ["parent"] = "a1", ["run-client-id"] = "owner" }, "publisher"), Conversation);
        Assert.False(run.Continuation);
        Assert.True(Guid.TryParse(run.RunId, out _));
        Assert.Equal(("u2", "u2", "owner", "publisher"), (run.Parent, run.InputCodecMessageId, run.RunClientId, run.InputClientId));
        Assert.Null(run.ForkOf);
        Assert.Null(run.Regenerates);
    }

    [Fact]
    public void A_regenerate_signal_is_no_message_so_the_reply_follows_the_prompt_it_names()
    {
        var run = RunIdentity.ForTrigger(Trigger("regen-1", new() { ["parent"] = "u1", ["msg-regenerate"] = "a1" }, "user"), Conversation);
        Assert.Equal(("u1", "a1", "regen-1"), (run.Parent, run.Regenerates, run.InputCodecMessageId));
        Assert.False(run.Continuation);
    }

    [Fact]
    public void An_edited_input_is_a_fork_of_the_message_it_replaces()
    {
        var conversation = new Dictionary<string, UIMessage>(Conversation) { ["u2b"] = new UIMessage("u2b", "user") { Parent = "a1" } };
        var run = RunIdentity.ForTrigger(Trigger("u2b", new() { ["parent"] = "a1", ["fork-of"] = "u2" }, "user"), conversation);
        Assert.Equal(("u2b", "u2"), (run.Parent, run.ForkOf));
    }

    [Fact]
    public void An_input_naming_a_run_continues_that_run()
    {
        var run = RunIdentity.ForTrigger(Trigger("a1", new() { ["run-id"] = "run-7", ["parent"] = "a1" }, "user"), Conversation);
        Assert.True(run.Continuation);
        Assert.Equal(("run-7", "a1"), (run.RunId, run.Parent));
    }

    [Fact]
    public void A_run_owner_missing_from_the_input_is_empty_as_the_SDK_stamps_it()
    {
        Assert.Equal(string.Empty, RunIdentity.ForTrigger(Trigger("u2", [], "publisher"), Conversation).RunClientId);
    }

    private static WireMessage Trigger(string codecId, Dictionary<string, string> headers, string clientId)
    {
        headers["codec-message-id"] = codecId;
        headers["event-id"] = "evt-" + codecId;
        return new WireMessage { Serial = "01000000000000-000000000001", Name = AitEvents.Input, ClientId = clientId, Transport = headers, Json = new JsonObject() };
    }
}
