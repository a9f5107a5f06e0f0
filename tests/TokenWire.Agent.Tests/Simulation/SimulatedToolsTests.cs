using Microsoft.Extensions.AI;
using TokenWire.Agent.Simulation;

namespace TokenWire.Agent.Tests.Simulation;

public sealed class SimulatedToolsTests
{
    private static readonly ChatOptions AllTools = new() { Tools = [SimulatedTools.Weather, SimulatedTools.Location, SimulatedTools.Booking] };

    [Theory]
    [InlineData("What is the weather in Oslo?", SimulatedTools.WeatherToolName, "Oslo")]
    [InlineData("Where am I?", SimulatedTools.LocationToolName, null)]
    [InlineData("Book a table in Paris", SimulatedTools.BookingToolName, "Paris")]
    public void A_prompt_a_tool_answers_calls_it_when_it_is_offered(string prompt, string tool, string? city)
    {
        var call = SimulatedTools.CallFor([new ChatMessage(ChatRole.User, prompt)], AllTools);
        Assert.Equal(tool, call?.Name);
        Assert.Equal(city, call!.Arguments!.TryGetValue("city", out var value) ? value?.ToString() : null);
        Assert.Null(SimulatedTools.CallFor([new ChatMessage(ChatRole.User, prompt)], new ChatOptions()));
    }

    [Fact]
    public void The_client_tool_is_only_declared_and_the_booking_needs_approval()
    {
        Assert.False(SimulatedTools.Location is AIFunction);
        Assert.IsType<ApprovalRequiredAIFunction>(SimulatedTools.Booking);
    }

    [Theory]
    [InlineData(SimulatedTools.LocationToolName, true, "You are in Oslo.")]
    [InlineData(SimulatedTools.BookingToolName, true, "Booked a table for two in Oslo tonight: confirmation TW-1.")]
    [InlineData(SimulatedTools.BookingToolName, false, "All right, I did not book a table.")]
    public void The_answer_follows_the_result_of_the_call_it_made(string tool, bool answered, string expected)
    {
        object result = answered ? new Dictionary<string, string> { ["city"] = "Oslo", ["confirmation"] = "TW-1" } : "Tool call invocation rejected.";
        List<ChatMessage> messages =
        [
            new(ChatRole.User, "?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call-1", tool)]),
            new(ChatRole.Tool, [new FunctionResultContent("call-1", result)]),
        ];
        Assert.Equal(expected, SimulatedTools.AnswerFromResult(messages));
    }
}
