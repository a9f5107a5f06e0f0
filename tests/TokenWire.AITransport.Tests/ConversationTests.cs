using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using TokenWire.AITransport.Conversation;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Tests;

public class ConversationTests
{
    private static int _serial;

    [Fact]
    public void Appends_extend_a_message_and_older_versions_never_overwrite_newer_ones()
    {
        var log = new WireLog();
        var create = Output("text", "", Serial(10), streamId: "t");
        log.Add(create);
        log.Add(Append(create.Serial!, "Hel", Serial(11), "streaming"));
        log.Add(Append(create.Serial!, "lo", Serial(12), "complete"));
        // History's copy of an older version arrives late: ignored.
        log.Add(Update(create, "Hel", Serial(11)));

        var message = Assert.Single(log.Ordered());
        Assert.Equal("Hello", message.Text);
        Assert.Equal("complete", message.Header("status"));
        Assert.Equal("ai-output", message.Name);
    }

    [Fact]
    public void A_first_contact_update_replaces_and_later_appends_extend_it()
    {
        var log = new WireLog();
        var create = Output("text", "", Serial(20), streamId: "t");
        log.Add(Update(create, "whole so far", Serial(25)));
        log.Add(Append(create.Serial!, " and more", Serial(26), "complete"));
        log.Add(Append(create.Serial!, " and more", Serial(26), "complete"));
        Assert.Equal("whole so far and more", Assert.Single(log.Ordered()).Text);
    }

    [Fact]
    public void The_branch_follows_parent_from_the_trigger_and_skips_other_branches()
    {
        var log = new WireLog();
        log.Add(Input("u1", null, "first", "evt-1"));
        log.Add(Output("start", "", Serial(31), codecId: "a1", parent: "u1"));
        log.Add(Output("text", "answer one", Serial(32), codecId: "a1", parent: "u1", streamId: "t"));
        // A regenerated sibling of a1 that the trigger does not follow.
        log.Add(Output("text", "other branch", Serial(33), codecId: "a1b", parent: "u1", streamId: "t"));
        log.Add(Input("u2", "a1", "second", "evt-2"));

        var messages = ConversationBuilder.Fold(log.Ordered());
        var branch = ConversationBuilder.Branch(messages, "u2");
        Assert.Equal(["u1", "a1", "u2"], branch.Select(m => m.CodecMessageId));
        var chat = ChatMessageConverter.ToChatMessages(branch);
        Assert.Equal([(ChatRole.User, "first"), (ChatRole.Assistant, "answer one"), (ChatRole.User, "second")], chat.Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public void A_tool_round_trip_becomes_call_result_then_the_next_steps_text()
    {
        var log = new WireLog();
        log.Add(Input("u1", null, "weather?", "evt-1"));
        log.Add(Output("start-step", "", Serial(41), codecId: "a1", parent: "u1"));
        log.Add(Output("tool-input", new JsonObject { ["city"] = "Oslo" }, Serial(42), codecId: "a1", parent: "u1", codec: new() { ["toolCallId"] = "c1", ["toolName"] = "get_weather" }));
        log.Add(Output("tool-output-available", new JsonObject { ["output"] = new JsonObject { ["sky"] = "sunny" } }, Serial(43), codecId: "a1", parent: "u1", codec: new() { ["toolCallId"] = "c1" }));
        log.Add(Output("start-step", "", Serial(44), codecId: "a1", parent: "u1"));
        log.Add(Output("text", "Sunny.", Serial(45), codecId: "a1", parent: "u1", streamId: "t"));

        var messages = ConversationBuilder.Fold(log.Ordered());
        var tool = Assert.IsType<ToolPart>(messages["a1"].Parts[1]);
        Assert.Equal(("c1", "get_weather", "output-available", "{\"city\":\"Oslo\"}", "{\"sky\":\"sunny\"}"), (tool.ToolCallId, tool.ToolName, tool.State, tool.Input!.ToJsonString(), tool.Output!.ToJsonString()));

        var chat = ChatMessageConverter.ToChatMessages(ConversationBuilder.Branch(messages, "a1"));
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], chat.Select(m => m.Role));
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(chat[1].Contents));
        Assert.Equal(("c1", "get_weather", "Oslo"), (call.CallId, call.Name, call.Arguments!["city"]?.ToString()));
        Assert.Equal("c1", Assert.IsType<FunctionResultContent>(Assert.Single(chat[2].Contents)).CallId);
        Assert.Equal("Sunny.", chat[3].Text);
    }

    [Fact]
    public void A_client_tool_result_fork_rebuilds_the_suspended_reply_and_the_result_lands_on_the_copy()
    {
        var log = new WireLog();
        log.Add(Input("u1", null, "Where am I?", "evt-1"));
        log.Add(Output("start-step", "", Serial(51), codecId: "a1", parent: "u1"));
        log.Add(Output("tool-input", new JsonObject(), Serial(52), codecId: "a1", parent: "u1", codec: new() { ["toolCallId"] = "c1", ["toolName"] = "get_location" }));
        var seed = JsonNode.Parse("""{"messages":[{"codecMessageId":"f1","message":{"id":"m1","role":"assistant","parts":[{"type":"step-start"},{"type":"tool-get_location","toolCallId":"c1","state":"input-available","input":{}}]}}]}""")!;
        log.Add(ClientInput("tool-result", "f1", "u1", new JsonObject { ["output"] = new JsonObject { ["city"] = "Oslo" }, ["forkSeed"] = seed }, new() { ["toolCallId"] = "c1" }, role: "assistant"));

        var messages = ConversationBuilder.Fold(log.Ordered());
        Assert.Equal("input-available", Assert.IsType<ToolPart>(messages["a1"].Parts[1]).State);
        var copy = Assert.IsType<ToolPart>(messages["f1"].Parts[1]);
        Assert.Equal(("output-available", "{\"city\":\"Oslo\"}", "u1"), (copy.State, copy.Output!.ToJsonString(), messages["f1"].Parent));
        var chat = ChatMessageConverter.ToChatMessages(ConversationBuilder.Branch(messages, "f1"));
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], chat.Select(m => m.Role));

        var trigger = log.Ordered().Single(m => m.Name == "ai-input" && m.Header("codec-message-id") == "f1");
        var run = Wire.RunIdentity.ForTrigger(trigger, messages);
        Assert.Equal(("f1", "u1", false), (run.Parent, run.RunParent, run.Continuation));
    }

    [Theory]
    [InlineData("true", "approval-responded", true)]
    [InlineData("false", "output-denied", false)]
    public void An_approval_response_is_handed_to_the_function_invoking_client_as_it_left_it(string approved, string state, bool approvedContent)
    {
        var log = new WireLog();
        log.Add(Input("u1", null, "Book a table in Paris", "evt-1"));
        log.Add(Output("tool-input", new JsonObject { ["city"] = "Paris" }, Serial(61), codecId: "a1", parent: "u1", codec: new() { ["toolCallId"] = "c1", ["toolName"] = "book_table" }));
        log.Add(Output("tool-approval-request", "", Serial(62), codecId: "a1", parent: "u1", codec: new() { ["toolCallId"] = "c1", ["approvalId"] = "ap-1" }));
        log.Add(ClientInput("tool-approval-response", "a1", "a1", "", new() { ["toolCallId"] = "c1", ["approved"] = approved, ["reason"] = "why" }, runId: "run-1"));

        var messages = ConversationBuilder.Fold(log.Ordered());
        Assert.Equal(state, Assert.IsType<ToolPart>(messages["a1"].Parts[0]).State);
        var chat = ChatMessageConverter.ToChatMessages(ConversationBuilder.Branch(messages, "a1"));
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], chat.Select(m => m.Role));
        var request = Assert.IsType<ToolApprovalRequestContent>(Assert.Single(chat[1].Contents));
        var response = Assert.IsType<ToolApprovalResponseContent>(Assert.Single(chat[2].Contents));
        Assert.Equal(("ap-1", "ap-1", approvedContent, "why", "c1"), (request.RequestId, response.RequestId, response.Approved, response.Reason, ((FunctionCallContent)response.ToolCall).CallId));
    }

    [Fact]
    public void Invocation_parse_accepts_the_client_body_and_ignores_extra_fields()
    {
        var invocation = AITransportInvocation.Parse("{\"inputEventId\":\"e1\",\"sessionName\":\"mutable:chat\",\"extra\":1}"u8);
        Assert.Equal(new AITransportInvocation("e1", "mutable:chat"), invocation);
    }

    [Theory]
    [InlineData("not json", 40000)]
    [InlineData("[]", 40000)]
    [InlineData("{\"sessionName\":\"s\"}", 40003)]
    [InlineData("{\"inputEventId\":\"\",\"sessionName\":\"s\"}", 40003)]
    [InlineData("{\"inputEventId\":1,\"sessionName\":\"s\"}", 40003)]
    public void Invocation_parse_refuses_bad_bodies_with_Ably_codes(string body, int code)
    {
        var error = Assert.Throws<AITransportException>(() => AITransportInvocation.Parse(System.Text.Encoding.UTF8.GetBytes(body)));
        Assert.Equal((code, 400), (error.Code, error.StatusCode));
    }

    private static string Serial(int n) => $"01000000000000-{n:D12}";

    private static Message Input(string codecId, string? parent, string text, string eventId)
    {
        var transport = new JsonObject { ["role"] = "user", ["codec-message-id"] = codecId, ["event-id"] = eventId };
        if (parent is not null)
        {
            transport["parent"] = parent;
        }

        var message = Messages.Create("ai-input", text, new JsonObject { ["ai"] = new JsonObject { ["transport"] = transport, ["codec"] = new JsonObject { ["kind"] = "user-message", ["messageId"] = "ui-" + codecId, ["partType"] = "text" } } });
        message.Serial = Serial(100 + Interlocked.Increment(ref _serial));
        message.ClientId = "user";
        return message;
    }

    private static Message ClientInput(string kind, string codecId, string parent, object data, JsonObject codec, string role = "user", string? runId = null)
    {
        var transport = new JsonObject { ["role"] = role, ["codec-message-id"] = codecId, ["parent"] = parent, ["event-id"] = "evt-" + kind, ["run-client-id"] = "user" };
        if (runId is not null)
        {
            transport["run-id"] = runId;
        }

        codec["kind"] = kind;
        var message = Messages.Create("ai-input", data, new JsonObject { ["ai"] = new JsonObject { ["transport"] = transport, ["codec"] = codec } });
        message.Serial = Serial(100 + Interlocked.Increment(ref _serial));
        message.ClientId = "user";
        return message;
    }

    private static Message Output(string kind, object data, string serial, string codecId = "a1", string parent = "u1", string? streamId = null, JsonObject? codec = null)
    {
        var transport = new JsonObject { ["role"] = "assistant", ["codec-message-id"] = codecId, ["parent"] = parent, ["stream"] = streamId is null ? "false" : "true" };
        if (streamId is not null)
        {
            transport["stream-id"] = streamId;
            transport["status"] = "streaming";
        }

        codec ??= [];
        codec["kind"] = kind;
        var message = Messages.Create("ai-output", data, new JsonObject { ["ai"] = new JsonObject { ["transport"] = transport, ["codec"] = codec } });
        message.Serial = serial;
        message.Action = MessageActions.Create;
        return message;
    }

    private static Message Append(string serial, string fragment, string version, string status)
    {
        var message = Messages.Create(null, fragment, new JsonObject
        {
            ["ai"] = new JsonObject
            {
                ["transport"] = new JsonObject { ["role"] = "assistant", ["codec-message-id"] = "a1", ["parent"] = "u1", ["stream"] = "true", ["status"] = status },
                ["codec"] = new JsonObject { ["kind"] = "text" },
            },
        });
        message.Serial = serial;
        message.Action = MessageActions.Append;
        message.Version = JsonPayload.Parse($"{{\"serial\":\"{version}\"}}");
        return message;
    }

    private static Message Update(Message original, string data, string version)
    {
        var message = original.Clone();
        message.Data = MessageData.FromText(data);
        message.Action = MessageActions.Update;
        message.Version = JsonPayload.Parse($"{{\"serial\":\"{version}\"}}");
        return message;
    }
}
