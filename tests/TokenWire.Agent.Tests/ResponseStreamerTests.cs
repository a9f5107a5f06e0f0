using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using TokenWire.Agent.Simulation;

namespace TokenWire.Agent.Tests;

public sealed class ResponseStreamerTests
{
    private static readonly SimulatedChatClientOptions Fast = new() { MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero };

    [Fact]
    public async Task A_complete_answer_is_start_then_indexed_tokens_then_stop_with_count_and_hash()
    {
        var channel = new RecordingResponseChannel();
        var outcome = await new ResponseStreamer(new SimulatedChatClient(Fast)).StreamAsync(channel, "What is TokenWire?", "r1").Within();

        var expected = SimulatedAnswers.For("What is TokenWire?");
        Assert.Equal("start", channel.Published[0].Name);
        Assert.Equal("stop", channel.Published[^1].Name);
        Assert.All(channel.Published, p => Assert.Equal("r1", p.Headers["responseId"]!.GetValue<string>()));
        var tokens = channel.Published.Where(p => p.Name == "token").ToList();
        Assert.Equal(Enumerable.Range(0, tokens.Count), tokens.Select(t => t.Headers["index"]!.GetValue<int>()));
        Assert.Equal(expected, channel.TokenText());
        var stop = channel.Published[^1].Headers;
        Assert.Equal(tokens.Count, stop["tokenCount"]!.GetValue<int>());
        Assert.Equal(ResponseStreamer.Sha256Hex(expected), stop["textSha256"]!.GetValue<string>());
        Assert.Equal("complete", stop["reason"]!.GetValue<string>());
        Assert.Empty(channel.Published[^1].Data);
        Assert.Equal(new ResponseOutcome("r1", "complete", tokens.Count, expected, null), outcome with { TimeToFirstToken = null });
        Assert.NotNull(outcome.TimeToFirstToken);
    }

    [Fact]
    public async Task A_cancel_for_this_response_stops_generation_with_reason_cancelled()
    {
        RecordingResponseChannel channel = null!;
        channel = new RecordingResponseChannel
        {
            OnToken = index =>
            {
                if (index == 2)
                {
                    channel.SendCancel("someone-else");
                }

                if (index == 4)
                {
                    channel.SendCancel("r2");
                }
            },
        };
        var slowEnough = new SimulatedChatClientOptions { MinDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) };
        var outcome = await new ResponseStreamer(new SimulatedChatClient(slowEnough)).StreamAsync(channel, "Explain resumable streams", "r2").Within();

        Assert.Equal("cancelled", outcome.Reason);
        Assert.Equal(5, outcome.TokenCount);
        var stop = channel.Published[^1];
        Assert.Equal("stop", stop.Name);
        Assert.Equal("cancelled", stop.Headers["reason"]!.GetValue<string>());
        Assert.Equal(5, stop.Headers["tokenCount"]!.GetValue<int>());
        Assert.StartsWith(channel.TokenText(), SimulatedAnswers.For("Explain resumable streams"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_throws_ends_with_reason_error_and_its_message()
    {
        var channel = new RecordingResponseChannel();
        var outcome = await new ResponseStreamer(new ThrowingChatClient(afterChunks: 3)).StreamAsync(channel, "anything", "r3").Within();

        Assert.Equal("error", outcome.Reason);
        var stop = channel.Published[^1];
        Assert.Equal("stop", stop.Name);
        Assert.Equal("error", stop.Headers["reason"]!.GetValue<string>());
        Assert.Equal("model exploded", stop.Headers["error"]!.GetValue<string>());
        Assert.Equal(3, stop.Headers["tokenCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_failed_token_publish_puts_the_full_text_in_the_stop_message()
    {
        var channel = new RecordingResponseChannel { FailTokenIndex = 1 };
        await new ResponseStreamer(new SimulatedChatClient(Fast)).StreamAsync(channel, "What is TokenWire?", "r4").Within();

        var stop = channel.Published[^1];
        Assert.Equal("stop", stop.Name);
        Assert.Equal(SimulatedAnswers.For("What is TokenWire?"), stop.Data["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Role_only_and_empty_updates_are_not_tokens()
    {
        var channel = new RecordingResponseChannel();
        var outcome = await new ResponseStreamer(new ScriptedChatClient(["", "Hel", "", "lo"])).StreamAsync(channel, "x", "r5").Within();

        Assert.Equal(2, outcome.TokenCount);
        Assert.Equal("Hello", channel.TokenText());
    }

    private sealed class ThrowingChatClient(int afterChunks) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < afterChunks; i++)
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, "chunk" + i);
            }

            throw new InvalidOperationException("model exploded");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class ScriptedChatClient(string[] texts) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return new ChatResponseUpdate { Role = ChatRole.Assistant };
            foreach (var text in texts)
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, text);
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
