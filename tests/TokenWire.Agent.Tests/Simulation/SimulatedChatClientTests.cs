using Microsoft.Extensions.AI;
using TokenWire.Agent.Simulation;

namespace TokenWire.Agent.Tests.Simulation;

public sealed class SimulatedChatClientTests
{
    private static readonly SimulatedChatClientOptions Fast = new() { MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero };

    [Theory]
    [InlineData("What is TokenWire?")]
    [InlineData("some prompt nobody wrote an answer for")]
    public async Task The_same_prompt_streams_the_same_chunks_of_one_to_eight_characters(string prompt)
    {
        var first = await Chunks(prompt);
        var second = await Chunks(prompt);

        Assert.Equal(first, second);
        Assert.All(first, c => Assert.InRange(c.Length, 1, 8));
        Assert.Equal(SimulatedAnswers.For(prompt), string.Concat(first));
    }

    [Fact]
    public void Different_prompts_get_different_answers() =>
        Assert.NotEqual(SimulatedAnswers.For("a"), SimulatedAnswers.For("b"));

    [Fact]
    public async Task Cancellation_stops_the_stream()
    {
        using var cts = new CancellationTokenSource();
        var client = new SimulatedChatClient(new SimulatedChatClientOptions { MinDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) });
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "What is TokenWire?")], cancellationToken: cts.Token))
            {
                if (++count == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(3, count);
    }

    [Fact]
    public void The_factory_picks_the_simulated_model_without_openai_settings_and_openai_with_them()
    {
        string? NoEnvironment(string _) => null;
        Assert.IsType<SimulatedChatClient>(ChatClientFactory.Create(new AgentOptions(), NoEnvironment));
        Assert.False(ChatClientFactory.UsesOpenAI(new AgentOptions(), NoEnvironment));
        var configured = new AgentOptions { OpenAI = { Endpoint = "http://127.0.0.1:1/v1", Model = "m" } };
        Assert.True(ChatClientFactory.UsesOpenAI(configured, NoEnvironment));
        Assert.IsNotType<SimulatedChatClient>(ChatClientFactory.Create(configured, NoEnvironment));
        Assert.True(ChatClientFactory.UsesOpenAI(new AgentOptions(), name => name == "OPENAI_BASE_URL" ? "http://127.0.0.1:1/v1" : null));
    }

    private static async Task<List<string>> Chunks(string prompt)
    {
        var chunks = new List<string>();
        await foreach (var update in new SimulatedChatClient(Fast).GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)]))
        {
            chunks.Add(update.Text);
        }

        return chunks;
    }
}
