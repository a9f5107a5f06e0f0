using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using TokenWire.AITransport.Codec;

namespace TokenWire.AITransport.Tests;

public class UIChunkMapperTests
{
    [Fact]
    public void Text_deltas_become_one_block_between_start_and_finish()
    {
        var mapper = new UIChunkMapper();
        var chunks = Map(mapper, new ChatResponseUpdate(ChatRole.Assistant, "Hel"), new ChatResponseUpdate(ChatRole.Assistant, "lo"));
        chunks.AddRange(mapper.Complete());

        Assert.Equal(
            [new StartChunk(), new StartStepChunk(), new TextStartChunk("text-1"), new TextDeltaChunk("text-1", "Hel"), new TextDeltaChunk("text-1", "lo"),
             new TextEndChunk("text-1"), new FinishStepChunk(), new FinishChunk("stop")],
            chunks);
    }

    [Fact]
    public void Reasoning_then_text_closes_the_reasoning_block_first()
    {
        var mapper = new UIChunkMapper();
        var chunks = Map(
            mapper,
            new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("think")]),
            new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(" more")]),
            new ChatResponseUpdate(ChatRole.Assistant, "answer"));

        Assert.Equal(
            [new StartChunk(), new StartStepChunk(), new ReasoningStartChunk("reasoning-1"), new ReasoningDeltaChunk("reasoning-1", "think"),
             new ReasoningDeltaChunk("reasoning-1", " more"), new ReasoningEndChunk("reasoning-1"), new TextStartChunk("text-2"), new TextDeltaChunk("text-2", "answer")],
            chunks);
    }

    [Fact]
    public void Empty_and_role_only_updates_produce_nothing_after_the_start_and_the_step_opens_with_output()
    {
        var mapper = new UIChunkMapper();
        Assert.Equal([new StartChunk()], mapper.Map(new ChatResponseUpdate { Role = ChatRole.Assistant }));
        Assert.Empty(mapper.Map(new ChatResponseUpdate(ChatRole.Assistant, string.Empty)));
        Assert.Equal([new StartStepChunk(), new FinishStepChunk(), new FinishChunk("stop")], mapper.Complete());
    }

    [Fact]
    public void A_call_nobody_answers_finishes_asking_for_tool_calls_so_the_run_suspends()
    {
        var mapper = new UIChunkMapper();
        var chunks = Map(mapper, new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call-1", "get_location", new Dictionary<string, object?>())]));
        chunks.AddRange(mapper.Complete());
        Assert.Equal(["start", "start-step", "tool-input-available", "finish-step", "finish"], chunks.Select(Kind));
        Assert.Equal(("call-1", "get_location", "{}"), (((ToolInputAvailableChunk)chunks[2]).ToolCallId, ((ToolInputAvailableChunk)chunks[2]).ToolName, ((ToolInputAvailableChunk)chunks[2]).Input?.ToJsonString()));
        Assert.Equal(new FinishChunk("tool-calls"), chunks[^1]);
        Assert.True(mapper.Suspends);
    }

    [Fact]
    public async Task A_call_needing_approval_is_published_with_its_approval_request_and_suspends()
    {
        var model = new ScriptedChatClient(
            [new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call-1", "book_table", new Dictionary<string, object?> { ["city"] = "Paris" })]) { FinishReason = ChatFinishReason.ToolCalls }]);
        var tool = new ApprovalRequiredAIFunction(AIFunctionFactory.Create((string city) => new { city }, "book_table"));
        using var client = new ChatClientBuilder(model).UseFunctionInvocation().Build();
        var mapper = new UIChunkMapper();
        var chunks = new List<UIChunk>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Book a table in Paris")], new ChatOptions { Tools = [tool] }))
        {
            chunks.AddRange(mapper.Map(update));
        }

        chunks.AddRange(mapper.Complete());
        Assert.Equal(["start", "start-step", "tool-input-available", "tool-approval-request", "finish-step", "finish"], chunks.Select(Kind));
        var request = Assert.IsType<ToolApprovalRequestChunk>(chunks[3]);
        Assert.Equal("call-1", request.ToolCallId);
        Assert.False(string.IsNullOrEmpty(request.ApprovalId));
        Assert.True(mapper.Suspends);
    }

    [Fact]
    public void Calls_from_an_earlier_run_are_not_published_again_and_an_approved_ones_result_comes_before_the_step()
    {
        var mapper = new UIChunkMapper(priorCalls: new Dictionary<string, string> { ["call-1"] = "approval-responded", ["call-2"] = "output-denied" });
        var chunks = Map(
            mapper,
            new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call-1", "book_table"), new FunctionCallContent("call-2", "book_table")]),
            new ChatResponseUpdate(ChatRole.Tool, [new FunctionResultContent("call-1", "booked"), new FunctionResultContent("call-2", "rejected")]),
            new ChatResponseUpdate(ChatRole.Assistant, "Done."));
        chunks.AddRange(mapper.Complete());
        Assert.Equal(["start", "tool-output-available", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"], chunks.Select(Kind));
        Assert.Equal("call-1", Assert.IsType<ToolOutputAvailableChunk>(chunks[1]).ToolCallId);
        Assert.False(mapper.Suspends);
    }

    private static string Kind(UIChunk chunk) => chunk switch
    {
        StartChunk => "start",
        StartStepChunk => "start-step",
        FinishStepChunk => "finish-step",
        FinishChunk => "finish",
        TextStartChunk => "text-start",
        TextDeltaChunk => "text-delta",
        TextEndChunk => "text-end",
        ToolInputAvailableChunk => "tool-input-available",
        ToolApprovalRequestChunk => "tool-approval-request",
        ToolOutputAvailableChunk => "tool-output-available",
        _ => chunk.GetType().Name,
    };

    [Fact]
    public async Task A_function_invoking_client_yields_call_result_and_a_new_step()
    {
        var model = new ScriptedChatClient(
            [new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call-1", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" })]) { FinishReason = ChatFinishReason.ToolCalls }],
            [new ChatResponseUpdate(ChatRole.Assistant, "Sunny.") { FinishReason = ChatFinishReason.Stop }]);
        var tool = AIFunctionFactory.Create((string city) => new { city, sky = "sunny" }, "get_weather");
        using var client = new ChatClientBuilder(model).UseFunctionInvocation().Build();
        var mapper = new UIChunkMapper();
        var chunks = new List<UIChunk>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "weather in Oslo?")], new ChatOptions { Tools = [tool] }))
        {
            chunks.AddRange(mapper.Map(update));
        }

        chunks.AddRange(mapper.Complete());
        Assert.Equal(
            ["StartChunk", "StartStepChunk", "ToolInputAvailableChunk", "ToolOutputAvailableChunk", "FinishStepChunk", "StartStepChunk",
             "TextStartChunk", "TextDeltaChunk", "TextEndChunk", "FinishStepChunk", "FinishChunk"],
            chunks.Select(c => c.GetType().Name));
        var input = Assert.IsType<ToolInputAvailableChunk>(chunks[2]);
        Assert.Equal(("call-1", "get_weather", "{\"city\":\"Oslo\"}"), (input.ToolCallId, input.ToolName, input.Input!.ToJsonString()));
        var output = Assert.IsType<ToolOutputAvailableChunk>(chunks[3]);
        Assert.Equal("{\"city\":\"Oslo\",\"sky\":\"sunny\"}", output.Output!.ToJsonString());
        // The tool step's reason (tool-calls) does not outlive it.
        Assert.Equal(new FinishChunk("stop"), chunks[^1]);
        Assert.Equal(2, model.Calls);
    }

    [Fact]
    public void A_failed_tool_becomes_tool_output_error()
    {
        var mapper = new UIChunkMapper();
        var chunks = mapper.Map(new ChatResponseUpdate(ChatRole.Tool, [new FunctionResultContent("call-1", null) { Exception = new InvalidOperationException("no such city") }]));
        Assert.Equal(new ToolOutputErrorChunk("call-1", "no such city"), chunks[^1]);
    }

    [Theory]
    [InlineData("stop", "stop")]
    [InlineData("length", "length")]
    [InlineData("content_filter", "content-filter")]
    [InlineData("tool_calls", "tool-calls")]
    [InlineData("something_else", "other")]
    public void Finish_reasons_use_the_AI_SDK_names(string reason, string expected) =>
        Assert.Equal(expected, UIChunkMapper.FinishReason(new ChatFinishReason(reason)));

    [Fact]
    public void No_finish_reason_is_stop() => Assert.Equal("stop", UIChunkMapper.FinishReason(null));

    [Fact]
    public void Usage_is_summed_over_steps_into_the_finish_metadata()
    {
        var mapper = new UIChunkMapper();
        mapper.Map(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2, TotalTokenCount = 12 })]));
        mapper.Map(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 20, OutputTokenCount = 5, TotalTokenCount = 25 })]));
        var finish = Assert.IsType<FinishChunk>(mapper.Complete()[^1]);
        Assert.Equal("{\"usage\":{\"inputTokens\":30,\"outputTokens\":7,\"totalTokens\":37}}", finish.MessageMetadata!.ToJsonString());
    }

    [Fact]
    public void Usage_can_be_left_out()
    {
        var mapper = new UIChunkMapper(includeUsage: false);
        mapper.Map(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 1 })]));
        Assert.Null(Assert.IsType<FinishChunk>(mapper.Complete()[^1]).MessageMetadata);
    }

    [Fact]
    public void A_failure_ends_with_error_finish_step_and_finish_error_and_leaves_blocks_open()
    {
        var mapper = new UIChunkMapper();
        mapper.Map(new ChatResponseUpdate(ChatRole.Assistant, "partial"));
        Assert.Equal([new ErrorChunk("An error occurred."), new FinishStepChunk(), new FinishChunk("error")], mapper.Fail("An error occurred."));
    }

    private static List<UIChunk> Map(UIChunkMapper mapper, params ChatResponseUpdate[] updates) => [.. updates.SelectMany(mapper.Map)];

    /// <summary>Streams one scripted response per call.</summary>
    private sealed class ScriptedChatClient(params ChatResponseUpdate[][] responses) : IChatClient
    {
        public int Calls { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var response = responses[Calls++];
            foreach (var update in response)
            {
                await Task.Yield();
                yield return update;
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
