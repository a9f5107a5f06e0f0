using System.Text;

namespace TokenWire.Agent.Simulation;

/// <summary>Deterministic answers: known prompts get written answers, any other prompt a paragraph seeded by its text.</summary>
public static class SimulatedAnswers
{
    private static readonly Dictionary<string, string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["What is TokenWire?"] =
            "TokenWire is a self-hosted realtime transport for streaming AI responses token by token. It speaks the Ably " +
            "protocol, so apps built on the Ably SDKs and React hooks connect to it unchanged. Every token is delivered " +
            "in order, and when a connection drops the client resumes and receives exactly what it missed: nothing lost, " +
            "nothing doubled.",
        ["Explain resumable streams"] =
            "A resumable stream gives every message a position in an ordered log. A client remembers the last position " +
            "it saw; after a reconnect it asks to continue from there, and the server replays the gap before sending new " +
            "messages live. History covers everything before the attach point, live delivery everything after it, and " +
            "the seam between them is exact.",
        ["Write a haiku about latency"] =
            "Packets cross the wire,\nfirst token before the thought,\nsilence, then the rest.\n\n" +
            "Latency is the distance between a question and the first sign of an answer; streaming makes that distance " +
            "feel short even when the whole answer takes a while.",
    };

    public static IReadOnlyCollection<string> KnownPrompts => Known.Keys;

    /// <summary>Asked to recall the conversation, it lists the earlier user prompts: a way to see what context a model got.</summary>
    public const string RecallPrompt = "What did I ask before?";

    /// <summary><see cref="For"/>, except that <see cref="RecallPrompt"/> is answered from the earlier turns.</summary>
    public static string ForConversation(IReadOnlyList<Microsoft.Extensions.AI.ChatMessage> messages, string prompt)
    {
        if (!string.Equals(prompt.Trim(), RecallPrompt, StringComparison.OrdinalIgnoreCase))
        {
            return For(prompt);
        }

        var earlier = messages.Where(m => m.Role == Microsoft.Extensions.AI.ChatRole.User).Select(m => m.Text.Trim()).SkipLast(1).ToList();
        return earlier.Count == 0
            ? "This is your first question."
            : "Before this you asked: " + string.Join("; ", earlier.Select(p => $"\"{p}\"")) + ".";
    }

    public static string For(string prompt)
    {
        if (Known.TryGetValue(prompt.Trim(), out var answer))
        {
            return answer;
        }

        string[] words =
        [
            "tokens", "stream", "ordered", "channel", "history", "resume", "serial", "latency", "agent", "message",
            "subscriber", "publish", "reliable", "realtime", "answer", "model", "connection", "window", "buffer", "seam",
        ];
        var random = new Random(StableHash(prompt));
        var text = new StringBuilder($"You asked: \"{prompt.Trim()}\". ");
        for (var sentence = 0; sentence < 6; sentence++)
        {
            var length = random.Next(8, 16);
            for (var i = 0; i < length; i++)
            {
                var word = words[random.Next(words.Length)];
                text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
                text.Append(i == length - 1 ? ". " : " ");
            }
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>FNV-1a: string.GetHashCode is randomised per process, and answers must not be.</summary>
    internal static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }
}
