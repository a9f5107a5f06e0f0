using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace TokenWire.Agent.Tests;

public class ResponseMessageStreamerTests
{
    [Fact]
    public async Task One_response_message_then_an_append_per_delta_then_a_final_empty_append_with_the_checksum()
    {
        var channel = new RecordingMutableChannel();
        var outcome = await new ResponseMessageStreamer(new DeltaModel("Hel", "", "lo")).StreamAsync(channel, "hi", "r1");

        Assert.Equal(("complete", 2, "Hello"), (outcome.Reason, outcome.TokenCount, outcome.Text));
        Assert.Equal(("publish", "response", ""), (channel.Calls[0].Kind, channel.Calls[0].Name, channel.Calls[0].Text));
        Assert.Equal(["Hel", "lo", ""], channel.Calls.Skip(1).Select(c => c.Text));
        Assert.All(channel.Calls.Skip(1), c => Assert.Equal(("append", "serial-1"), (c.Kind, c.Name)));
        Assert.All(channel.Calls, c => Assert.Equal("r1", c.Headers["responseId"]!.GetValue<string>()));
        var final = channel.Calls[^1].Headers;
        Assert.Equal(("complete", 2, ResponseStreamer.Sha256Hex("Hello")), (final["status"]!.GetValue<string>(), final["tokenCount"]!.GetValue<int>(), final["textSha256"]!.GetValue<string>()));
        Assert.Equal("streaming", channel.Calls[1].Headers["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_cancel_for_the_response_stops_the_model_and_the_final_append_says_cancelled()
    {
        var channel = new RecordingMutableChannel();
        var model = new DeltaModel("a", "b", "c", "d") { AfterDelta = i => { if (i == 1) channel.Cancel("other"); if (i == 2) channel.Cancel("r1"); } };
        var outcome = await new ResponseMessageStreamer(model).StreamAsync(channel, "hi", "r1");
        Assert.Equal(("cancelled", "ab"), (outcome.Reason, outcome.Text));
        Assert.Equal("cancelled", channel.Calls[^1].Headers["status"]!.GetValue<string>());
    }

    private sealed class RecordingMutableChannel : IMutableResponseChannel
    {
        private readonly List<Action<string?>> _cancel = [];

        public List<(string Kind, string Name, string Text, JsonObject Headers)> Calls { get; } = [];

        public void Cancel(string responseId) => _cancel.ForEach(h => h(responseId));

        public Task<string?> PublishTextAsync(string name, string text, JsonObject headers, CancellationToken cancellationToken = default)
        {
            Calls.Add(("publish", name, text, headers));
            return Task.FromResult<string?>("serial-1");
        }

        public Task AppendAsync(string serial, string fragment, JsonObject headers, CancellationToken cancellationToken = default)
        {
            Calls.Add(("append", serial, fragment, headers));
            return Task.CompletedTask;
        }

        public Task PublishAsync(string name, JsonObject data, JsonObject headers, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IAsyncDisposable> SubscribeAsync(string name, Action<string?> handler, CancellationToken cancellationToken = default)
        {
            _cancel.Add(handler);
            return ValueTask.FromResult<IAsyncDisposable>(new Nothing());
        }

        private sealed class Nothing : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private sealed class DeltaModel(params string[] deltas) : IChatClient
    {
        public Action<int>? AfterDelta { get; init; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var sent = 0;
            for (var i = 0; i < deltas.Length; i++)
            {
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                yield return new ChatResponseUpdate(ChatRole.Assistant, deltas[i]);
                if (deltas[i].Length > 0)
                {
                    AfterDelta?.Invoke(++sent);
                }
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
