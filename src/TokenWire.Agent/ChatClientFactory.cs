using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using TokenWire.Agent.Simulation;

namespace TokenWire.Agent;

/// <summary>Chooses the model: an OpenAI-compatible endpoint when one is configured, the simulated model otherwise.</summary>
public static class ChatClientFactory
{
    public static IChatClient Create(AgentOptions options, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var endpoint = options.OpenAI.Endpoint ?? environment("OPENAI_BASE_URL");
        var apiKey = options.OpenAI.ApiKey ?? environment("OPENAI_API_KEY");
        if (string.IsNullOrEmpty(endpoint) && string.IsNullOrEmpty(apiKey))
        {
            return new SimulatedChatClient(new SimulatedChatClientOptions
            {
                MinDelay = options.Simulated.MinDelay,
                MaxDelay = options.Simulated.MaxDelay,
            });
        }

        var model = options.OpenAI.Model ?? environment("OPENAI_MODEL") ?? "gpt-4o-mini";
        var clientOptions = new OpenAIClientOptions();
        if (!string.IsNullOrEmpty(endpoint))
        {
            clientOptions.Endpoint = new Uri(endpoint);
        }

        // Local servers (Ollama, llama.cpp) ignore the key, but the client requires one.
        var credential = new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "unused" : apiKey);
        return new OpenAI.Chat.ChatClient(model, credential, clientOptions).AsIChatClient();
    }

    public static bool UsesOpenAI(AgentOptions options, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return !string.IsNullOrEmpty(options.OpenAI.Endpoint ?? environment("OPENAI_BASE_URL"))
            || !string.IsNullOrEmpty(options.OpenAI.ApiKey ?? environment("OPENAI_API_KEY"));
    }
}
