using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace TokenWire.Agent.Simulation;

/// <summary>
/// Tool use for the simulated model, so tool round trips can be shown and tested without a real model: a prompt such
/// as "What is the weather in Paris?" calls <see cref="WeatherToolName"/> when the caller offers it, and the tool's
/// result is then turned into the answer. <see cref="Weather"/> is that tool, deterministic per city.
/// </summary>
public static partial class SimulatedTools
{
    public const string WeatherToolName = "get_weather";

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

    /// <summary>The call the model makes for the last message, if it is a user's weather question and the tool is offered.</summary>
    public static FunctionCallContent? CallFor(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatRole.User
            || options?.Tools?.Any(t => t.Name == WeatherToolName) != true
            || WeatherQuestion().Match(messages[^1].Text) is not { Success: true } match)
        {
            return null;
        }

        var city = match.Groups["city"].Value.Trim();
        return new FunctionCallContent("call-" + (uint)SimulatedAnswers.StableHash(city + messages.Count), WeatherToolName, new Dictionary<string, object?> { ["city"] = city });
    }

    /// <summary>The answer after a weather call's result came back, or null when the last message is not one.</summary>
    public static string? AnswerFromResult(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatRole.Tool
            || messages[^1].Contents.OfType<FunctionResultContent>().FirstOrDefault() is not { } result)
        {
            return null;
        }

        var json = result.Result switch
        {
            JsonElement element => element,
            null => default,
            var other => JsonSerializer.SerializeToElement(other, AIJsonUtilities.DefaultOptions.GetTypeInfo(other.GetType())),
        };
        if (json.ValueKind != JsonValueKind.Object)
        {
            return "The tool did not answer.";
        }

        string Field(string name) => json.TryGetProperty(name, out var v) ? v.ToString() : "?";
        return $"In {Field("city")} it is {Field("sky")} and {Field("celsius")} °C right now.";
    }

    [GeneratedRegex(@"weather in (?<city>[\p{L} .'-]+?)\??$", RegexOptions.IgnoreCase)]
    private static partial Regex WeatherQuestion();

    /// <summary>What <see cref="Weather"/> returns.</summary>
    public sealed record Forecast(
        [property: System.Text.Json.Serialization.JsonPropertyName("city")] string City,
        [property: System.Text.Json.Serialization.JsonPropertyName("sky")] string Sky,
        [property: System.Text.Json.Serialization.JsonPropertyName("celsius")] int Celsius);
}
