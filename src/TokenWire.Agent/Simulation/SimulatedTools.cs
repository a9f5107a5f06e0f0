using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace TokenWire.Agent.Simulation;

/// <summary>
/// Tool use for the simulated model, so tool round trips can be shown and tested without a real model: a prompt such
/// as "What is the weather in Paris?" calls <see cref="WeatherToolName"/> when the caller offers it, and the tool's
/// result is then turned into the answer. <see cref="Weather"/> is that tool, deterministic per city. Two more show
/// the tools the client takes part in: "Where am I?" calls <see cref="LocationToolName"/>, a client tool (declared
/// only: the browser answers it), and "Book a table in Paris" calls <see cref="BookingToolName"/>, which runs only
/// once the user approves it.
/// </summary>
public static partial class SimulatedTools
{
    public const string WeatherToolName = "get_weather";

    public const string LocationToolName = "get_location";

    public const string BookingToolName = "book_table";

    private static readonly string[] Skies = ["sunny", "cloudy", "raining", "windy", "foggy", "snowing"];

    /// <summary>The demo tool: a made-up but stable forecast for the city the model asks about.</summary>
    public static AIFunction Weather { get; } = AIFunctionFactory.Create(
        (string city) =>
        {
            var hash = SimulatedAnswers.StableHash(city.Trim().ToUpperInvariant());
            return new Forecast(city.Trim(), Skies[(int)((uint)hash % Skies.Length)], 5 + (int)((uint)hash % 25));
        },
        WeatherToolName,
        "The current weather in a city.");

    /// <summary>A client tool: declared to the model, answered by the client (the SDK's client suspends the run for it).</summary>
    public static AIFunctionDeclaration Location { get; } = AIFunctionFactory.CreateDeclaration(
        LocationToolName,
        "The city the user is in, as their device knows it.",
        JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["type"] = "object", ["properties"] = new Dictionary<string, object>() }, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Dictionary<string, object>))));

    /// <summary>A tool that runs only once the user approves the call.</summary>
    public static AIFunction Booking { get; } = new ApprovalRequiredAIFunction(AIFunctionFactory.Create(
        (string city) => new BookingConfirmation(city.Trim(), "TW-" + ((uint)SimulatedAnswers.StableHash(city.Trim().ToUpperInvariant()) % 100000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture)),
        BookingToolName,
        "Books a table for two tonight in a city."));

    /// <summary>The call the model makes for the last message, if it is a user's question one of the offered tools answers.</summary>
    public static FunctionCallContent? CallFor(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatRole.User)
        {
            return null;
        }

        var text = messages[^1].Text;
        bool Offered(string name) => options?.Tools?.Any(t => t.Name == name) == true;
        FunctionCallContent Call(string name, string key, Dictionary<string, object?> arguments) =>
            new("call-" + (uint)SimulatedAnswers.StableHash(name + key + messages.Count), name, arguments);
        if (Offered(WeatherToolName) && WeatherQuestion().Match(text) is { Success: true } weather)
        {
            var city = weather.Groups["city"].Value.Trim();
            return Call(WeatherToolName, city, new() { ["city"] = city });
        }

        if (Offered(LocationToolName) && LocationQuestion().IsMatch(text))
        {
            return Call(LocationToolName, string.Empty, []);
        }

        if (Offered(BookingToolName) && BookingRequest().Match(text) is { Success: true } booking)
        {
            var city = booking.Groups["city"].Value.Trim();
            return Call(BookingToolName, city, new() { ["city"] = city });
        }

        return null;
    }

    /// <summary>The answer after a tool call's result came back, or null when the last message is not one.</summary>
    public static string? AnswerFromResult(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatRole.Tool
            || messages[^1].Contents.OfType<FunctionResultContent>().FirstOrDefault() is not { } result)
        {
            return null;
        }

        var tool = messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().LastOrDefault(c => c.CallId == result.CallId)?.Name;

        var json = result.Result switch
        {
            JsonElement element => element,
            null => default,
            var other => JsonSerializer.SerializeToElement(other, AIJsonUtilities.DefaultOptions.GetTypeInfo(other.GetType())),
        };
        string Field(string name) => json.TryGetProperty(name, out var v) ? v.ToString() : "?";
        return (tool, json.ValueKind) switch
        {
            (LocationToolName, JsonValueKind.Object) => $"You are in {Field("city")}.",
            (LocationToolName, _) => "I could not tell where you are.",
            (BookingToolName, JsonValueKind.Object) => $"Booked a table for two in {Field("city")} tonight: confirmation {Field("confirmation")}.",
            // A denied call's result is the function-invoking client's rejection text.
            (BookingToolName, _) => "All right, I did not book a table.",
            (_, JsonValueKind.Object) => $"In {Field("city")} it is {Field("sky")} and {Field("celsius")} °C right now.",
            _ => "The tool did not answer.",
        };
    }

    [GeneratedRegex(@"weather in (?<city>[\p{L} .'-]+?)\??$", RegexOptions.IgnoreCase)]
    private static partial Regex WeatherQuestion();

    [GeneratedRegex(@"^\s*where am i\??\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex LocationQuestion();

    [GeneratedRegex(@"book a table in (?<city>[\p{L} .'-]+?)[.!?]?$", RegexOptions.IgnoreCase)]
    private static partial Regex BookingRequest();

    /// <summary>What <see cref="Booking"/> returns.</summary>
    public sealed record BookingConfirmation(
        [property: System.Text.Json.Serialization.JsonPropertyName("city")] string City,
        [property: System.Text.Json.Serialization.JsonPropertyName("confirmation")] string Confirmation);

    /// <summary>What <see cref="Weather"/> returns.</summary>
    public sealed record Forecast(
        [property: System.Text.Json.Serialization.JsonPropertyName("city")] string City,
        [property: System.Text.Json.Serialization.JsonPropertyName("sky")] string Sky,
        [property: System.Text.Json.Serialization.JsonPropertyName("celsius")] int Celsius);
}
