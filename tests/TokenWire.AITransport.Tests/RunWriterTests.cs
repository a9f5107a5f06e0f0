using System.Text.Json.Nodes;
using TokenWire.AITransport.Codec;
using TokenWire.AITransport.Wire;
using TokenWire.Client;

namespace TokenWire.AITransport.Tests;

public class RunWriterTests
{
    private static readonly RunIdentity Run = new("run-1", "inv-1", "input-1", "user", "assistant-1");

    [Fact]
    public async Task A_run_is_lifecycle_events_around_outputs_stamped_with_the_step_start_serial()
    {
        var channel = new RecordingChannel();
        var writer = new RunWriter(channel, Run);
        await writer.StartRunAsync(default);
        await writer.StartStepAsync(default);
        foreach (var chunk in new UIChunk[] { new StartChunk(), new StartStepChunk(), new FinishStepChunk(), new FinishChunk("stop") })
        {
            await writer.WriteAsync(chunk, default);
        }

        await writer.FlushAsync(default);
        await writer.EndStepAsync("complete", default);
        await writer.EndRunAsync("complete", null, null, default);

        Assert.Equal(
            ["ai-run-start", "ai-step-start", "ai-output", "ai-output", "ai-output", "ai-output", "ai-step-end", "ai-run-end"],
            channel.Calls.Select(c => c.Message.Name));
        var start = RecordingChannel.Transport(channel.Calls[0].Message);
        Assert.Equal(["run-id", "run-client-id", "parent", "invocation-id", "input-client-id", "input-codec-message-id"], start.EnumerateObject().Select(p => p.Name));
        Assert.Equal("input-1", start.GetProperty("parent").GetString());
        var stepSerial = channel.Calls[1].Message.Serial;
        var output = RecordingChannel.Transport(channel.Calls[2].Message);
        Assert.Equal(stepSerial, output.GetProperty("step-start-serial").GetString());
        Assert.Equal("inv-1-step-0", output.GetProperty("step-id").GetString());
        Assert.Equal("assistant-1", output.GetProperty("codec-message-id").GetString());
        Assert.Equal("false", output.GetProperty("stream").GetString());
        Assert.Equal("assistant-1", RecordingChannel.Codec(channel.Calls[2].Message, "messageId"));
        Assert.Equal("stop", RecordingChannel.Codec(channel.Calls[5].Message, "finishReason"));
        var end = RecordingChannel.Transport(channel.Calls[7].Message);
        Assert.Equal("complete", end.GetProperty("run-reason").GetString());
        Assert.Equal("complete", RecordingChannel.Transport(channel.Calls[6].Message).GetProperty("step-reason").GetString());
    }

    [Fact]
    public async Task A_text_block_is_one_message_appended_per_delta_with_every_header_repeated_and_ends_complete()
    {
        var channel = new RecordingChannel { HoldAppends = true };
        var writer = new RunWriter(channel, Run);
        await writer.StartStepAsync(default);
        await writer.WriteAsync(new TextStartChunk("text-1"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "Hel"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "lo"), default);
        await writer.WriteAsync(new TextEndChunk("text-1"), default);

        // Pipelined: the writer went on while no append was acknowledged.
        Assert.Equal(3, channel.HeldAppendCount);
        var flushed = writer.FlushAsync(default);
        Assert.False(flushed.IsCompleted);
        channel.AckAppends();
        await flushed;

        var create = channel.Calls[1].Message;
        Assert.Equal(("ai-output", ""), (create.Name, create.GetText()));
        Assert.Equal("streaming", RecordingChannel.Transport(create).GetProperty("status").GetString());
        var appends = channel.Calls.Skip(2).Select(c => c.Message).ToList();
        Assert.All(appends, a => Assert.Equal(create.Serial, a.Serial));
        Assert.Equal(["Hel", "lo", ""], appends.Select(a => a.GetText()));
        Assert.Equal(["streaming", "streaming", "complete"], appends.Select(a => RecordingChannel.Transport(a).GetProperty("status").GetString()));
        var createHeaders = RecordingChannel.Transport(create).EnumerateObject().Select(p => p.Name).ToList();
        Assert.All(appends, a => Assert.Equal(createHeaders, RecordingChannel.Transport(a).EnumerateObject().Select(p => p.Name)));
        Assert.All(appends, a => Assert.Equal(("text", "text-1"), (RecordingChannel.Codec(a, "kind"), RecordingChannel.Codec(a, "id"))));
        Assert.Equal("text-1", RecordingChannel.Transport(create).GetProperty("stream-id").GetString());
    }

    [Fact]
    public async Task Cancelling_closes_open_blocks_with_an_empty_cancelled_append()
    {
        var channel = new RecordingChannel();
        var writer = new RunWriter(channel, Run);
        await writer.WriteAsync(new TextStartChunk("text-1"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "so far"), default);
        writer.CloseOpenStreams("cancelled", default);
        writer.CloseOpenStreams("cancelled", default);
        await writer.FlushAsync(default);

        var last = channel.Calls[^1].Message;
        Assert.Equal(3, channel.Calls.Count);
        Assert.Equal(("", "cancelled"), (last.GetText(), RecordingChannel.Transport(last).GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Tool_input_and_output_are_discrete_JSON_outputs()
    {
        var channel = new RecordingChannel();
        var writer = new RunWriter(channel, Run);
        await writer.WriteAsync(new ToolInputAvailableChunk("call-1", "get_weather", new JsonObject { ["city"] = "Oslo" }), default);
        await writer.WriteAsync(new ToolOutputAvailableChunk("call-1", new JsonObject { ["sky"] = "sunny" }), default);
        await writer.WriteAsync(new ErrorChunk("An error occurred."), default);
        await writer.FlushAsync(default);

        Assert.Equal("{\"city\":\"Oslo\"}", channel.Calls[0].Message.GetJson()!.Value.GetRawText());
        Assert.Equal(("tool-input", "call-1", "get_weather"), (RecordingChannel.Codec(channel.Calls[0].Message, "kind"), RecordingChannel.Codec(channel.Calls[0].Message, "toolCallId"), RecordingChannel.Codec(channel.Calls[0].Message, "toolName")));
        Assert.Equal("{\"output\":{\"sky\":\"sunny\"}}", channel.Calls[1].Message.GetJson()!.Value.GetRawText());
        Assert.Equal("tool-output-available", RecordingChannel.Codec(channel.Calls[1].Message, "kind"));
        Assert.Equal(("An error occurred.", "error"), (channel.Calls[2].Message.GetText(), RecordingChannel.Codec(channel.Calls[2].Message, "kind")));
    }

    [Fact]
    public async Task A_failed_append_is_recovered_by_rewriting_the_whole_message()
    {
        var channel = new RecordingChannel { FailAppends = true };
        var writer = new RunWriter(channel, Run);
        await writer.WriteAsync(new TextStartChunk("text-1"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "a"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "b"), default);
        await writer.WriteAsync(new TextEndChunk("text-1"), default);
        await writer.FlushAsync(default);

        var update = Assert.Single(channel.Calls, c => c.Kind == "update").Message;
        Assert.Equal(("ab", "complete"), (update.GetText(), RecordingChannel.Transport(update).GetProperty("status").GetString()));
        Assert.Equal(channel.Calls[0].Message.Serial, update.Serial);
    }

    [Fact]
    public async Task A_regenerate_or_edit_run_echoes_its_place_in_the_tree_on_the_start_and_every_output()
    {
        var channel = new RecordingChannel();
        var run = Run with { Parent = "user-1", Regenerates = "assistant-0", ForkOf = "user-0", RunClientId = "owner" };
        var writer = new RunWriter(channel, run);
        await writer.StartRunAsync(default);
        await writer.StartStepAsync(default);
        await writer.WriteAsync(new StartChunk(), default);
        await writer.WriteAsync(new TextStartChunk("text-1"), default);
        await writer.WriteAsync(new TextDeltaChunk("text-1", "again"), default);
        await writer.WriteAsync(new TextEndChunk("text-1"), default);
        await writer.FlushAsync(default);
        await writer.EndRunAsync("complete", null, null, default);

        var start = RecordingChannel.Transport(channel.Calls[0].Message);
        Assert.Equal(("ai-run-start", "user-1", "user-0", "assistant-0", "owner"), (channel.Calls[0].Message.Name, start.GetProperty("parent").GetString(), start.GetProperty("fork-of").GetString(), start.GetProperty("msg-regenerate").GetString(), start.GetProperty("run-client-id").GetString()));
        Assert.Equal("input-1", start.GetProperty("input-codec-message-id").GetString());
        foreach (var (_, output) in channel.Calls.Where(c => c.Message.Name == "ai-output" || c.Kind == "append"))
        {
            var headers = RecordingChannel.Transport(output);
            Assert.Equal(("user-1", "user-0", "assistant-0", "owner", "user"), (headers.GetProperty("parent").GetString(), headers.GetProperty("fork-of").GetString(), headers.GetProperty("msg-regenerate").GetString(), headers.GetProperty("run-client-id").GetString(), headers.GetProperty("input-client-id").GetString()));
        }

        Assert.Equal("owner", RecordingChannel.Transport(channel.Calls[^1].Message).GetProperty("run-client-id").GetString());
    }

    [Fact]
    public async Task A_continuation_reenters_its_run_with_a_resume_that_does_not_place_it_again()
    {
        var channel = new RecordingChannel();
        await new RunWriter(channel, Run with { Continuation = true, Parent = "assistant-0" }).StartRunAsync(default);
        var resume = channel.Calls[0].Message;
        Assert.Equal("ai-run-resume", resume.Name);
        Assert.Equal(["run-id", "run-client-id", "invocation-id", "input-client-id", "input-codec-message-id"], RecordingChannel.Transport(resume).EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task A_run_error_carries_its_code_and_message()
    {
        var channel = new RecordingChannel();
        await new RunWriter(channel, Run).EndRunAsync("error", 93002, "unable to complete run; not mutable", default);
        var end = RecordingChannel.Transport(channel.Calls[0].Message);
        Assert.Equal(("error", "93002", "unable to complete run; not mutable"), (end.GetProperty("run-reason").GetString(), end.GetProperty("error-code").GetString(), end.GetProperty("error-message").GetString()));
    }
}
