using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using TokenWire.AITransport.Wire;
using TokenWire.Client;
using TokenWire.Protocol;
using TokenWire.Testing;

namespace TokenWire.AITransport.Tests;

/// <summary>A run that would suspend on a client tool, against a real server: where its cancels go meanwhile.</summary>
public class SuspensionTests
{
    [Fact]
    public async Task A_cancel_that_reaches_the_run_after_its_model_finished_ends_it_cancelled_not_suspended()
    {
        await using var server = await InProcessServer.StartAsync();
        var channelName = "mutable:suspension-" + Guid.NewGuid().ToString("N");
        await using var user = new RealtimeClient(Options(server, "user"));
        var channel = user.Channels.Get(channelName);
        await channel.PublishAsync(UserInput("Where am I?", codecId: "u1", eventId: "evt-1"));

        var model = new ToolCallThenCancelled();
        await using var clients = new RealtimeClientProvider(Options(server, "agent"));
        await using var agent = new AITransportAgent(clients, model);
        var run = await agent.StartRunAsync(new AITransportInvocation("evt-1", channelName));
        await model.AwaitingEnd.Task.WaitAsync(TimeSpan.FromSeconds(30));
        run.Cancel();
        var outcome = await run.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(AitStatus.Cancelled, outcome.Reason);
        var history = (await channel.HistoryAsync(new HistoryRequest { Limit = 100 })).Items;
        Assert.DoesNotContain(history, m => m.Name == AitEvents.RunSuspend);
        var (end, _) = Conversation.WireMessage.ReadHeaders(history.Single(m => m.Name == AitEvents.RunEnd));
        Assert.Equal(AitStatus.Cancelled, end[AitHeaders.RunReason]);
    }

    private static RealtimeClientOptions Options(InProcessServer server, string clientId) => RealtimeClientOptions.Default with
    {
        Key = InProcessServer.RootKey,
        ClientId = clientId,
        Endpoint = server.BaseUri.Host,
        Port = server.BaseUri.Port,
        Tls = false,
    };

    /// <summary>What <c>@ably/ai-transport</c>'s <c>view.send</c> publishes for a user's text message.</summary>
    private static Message UserInput(string text, string codecId, string eventId) => Messages.Create(
        AitEvents.Input,
        text,
        new JsonObject
        {
            ["ai"] = new JsonObject
            {
                ["transport"] = new JsonObject { ["role"] = "user", ["codec-message-id"] = codecId, ["event-id"] = eventId },
                ["codec"] = new JsonObject { ["kind"] = "user-message", ["messageId"] = "ui-" + codecId, ["partType"] = "text" },
            },
        });

    /// <summary>
    /// Asks for a client tool and has nothing more to say, but its stream ends only once the run is cancelled: the
    /// cancel lands after the model's last chunk, when nothing watches the run's token any more.
    /// </summary>
    private sealed class ToolCallThenCancelled : IChatClient
    {
        public TaskCompletionSource AwaitingEnd { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call-1", "get_location", new Dictionary<string, object?>())]);
            AwaitingEnd.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ends normally: the answer was complete before the cancel.
            }
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
