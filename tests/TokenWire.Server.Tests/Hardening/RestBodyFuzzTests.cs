using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.Tests.Fuzzing;
using TokenWire.Protocol.Tests.Support;
using TokenWire.Server.Auth;
using TokenWire.Server.Tests.Support;
using Xunit.Abstractions;

namespace TokenWire.Server.Tests.Hardening;

/// <summary>
/// Mutated REST bodies against a real server process (issue 5, hardening): publish, requestToken (signed TokenRequest
/// and Basic TokenParams), revokeTokens and sandbox <c>POST /apps</c>, as JSON and as msgpack. Every answer is a
/// success or a 4xx with an Ably error body whose code matches the status (and the <c>X-Ably-ErrorCode</c> header);
/// never a 5xx, and the server logs no error.
/// </summary>
[Collection(ServerProcessCollection.Name)]
public sealed class RestBodyFuzzTests(ServerProcessFixture server, ITestOutputHelper output)
{
    private const int RequestsPerTarget = 1_500;
    private const int Parallelism = 8;

    private sealed record Target(string Name, HttpMethod Method, string Path, string ContentType, AuthenticationHeaderValue? Auth, IReadOnlyList<byte[]> Seeds);

    [Fact]
    public async Task Mutated_bodies_get_4xx_ably_errors_and_never_a_5xx()
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        var basic = Basic(ServerProcessFixture.RootKey);
        var revocable = await RevocableKeyAsync(http);
        var targets = new List<Target>
        {
            new("publish json", HttpMethod.Post, "channels/fuzz-rest/messages", "application/json", basic, PublishBodies(WireFormat.Json)),
            new("publish msgpack", HttpMethod.Post, "channels/fuzz-rest/messages", "application/x-msgpack", basic, PublishBodies(WireFormat.MessagePack)),
            new("signed TokenRequest", HttpMethod.Post, "keys/dev.root/requestToken", "application/json", null, [SignedTokenRequest()]),
            new("TokenParams with Basic auth", HttpMethod.Post, "keys/dev.root/requestToken", "application/json", basic, [Utf8("""{"ttl":60000,"capability":"{\"*\":[\"subscribe\"]}","clientId":"fuzz"}""")]),
            new("TokenRequest as msgpack", HttpMethod.Post, "keys/dev.root/requestToken", "application/x-msgpack", null, [SignedTokenRequest()]),
            new("revokeTokens", HttpMethod.Post, $"keys/{revocable.Name}/revokeTokens", "application/json", revocable.Auth, [Utf8("""{"targets":["clientId:fuzz","channel:x"],"issuedBefore":1,"allowReauthMargin":true}""")]),
            new("POST /apps", HttpMethod.Post, "apps", "application/json", null, [Utf8("""{"keys":[{},{"capability":"{ \"a:*\":[\"subscribe\"] }"},{"revocableTokens":true}],"namespaces":[{"id":"persisted","persisted":true}],"channels":[{"name":"persisted:p","presence":[{"clientId":"c","data":"d"}]}]}""")]),
        };

        var problems = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        foreach (var (target, index) in targets.Select((t, i) => (t, i)))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, RequestsPerTarget), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (n, cancellationToken) =>
            {
                var mutator = new FrameMutator((index * 100_000) + n);
                var seed = target.Seeds[n % target.Seeds.Count];
                var format = target.ContentType.Contains("msgpack", StringComparison.Ordinal) && !target.Name.Contains("as msgpack", StringComparison.Ordinal) ? WireFormat.MessagePack : WireFormat.Json;
                var body = n % 10 == 0 ? seed : mutator.Mutate(seed, format);
                using var request = new HttpRequestMessage(target.Method, target.Path) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(target.ContentType);
                request.Headers.Authorization = target.Auth;
                using var response = await http.SendAsync(request, cancellationToken);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, c) => c + 1);
                var problem = await CheckAsync(response);
                if (problem is not null && problems.Count < 50)
                {
                    problems.Enqueue($"{target.Name} #{n} ({body.Length} bytes {Convert.ToHexString(body.AsSpan(0, Math.Min(64, body.Length)))}): {problem}");
                }
            });
        }

        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(problems.IsEmpty, string.Join('\n', problems.Take(15)) + "\nserver errors:\n" + string.Join('\n', server.ErrorLines.Take(30)));
        Assert.Contains(statuses.Keys, s => s is >= 200 and < 300);
        Assert.Contains(statuses.Keys, s => s is >= 400 and < 500);

        using var health = await http.GetAsync(new Uri("health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(server.ErrorLines.Count == 0, $"the server logged errors:\n{string.Join('\n', server.ErrorLines.Take(40))}");
    }

    /// <summary>Null when the answer is a success, or a 4xx Ably error consistent with its status; else what is wrong.</summary>
    private static async Task<string?> CheckAsync(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return null;
        }

        var text = await response.Content.ReadAsStringAsync();
        if (status >= 500 || status < 400)
        {
            return $"HTTP {status}: {text}";
        }

        if (response.Content.Headers.ContentType?.MediaType != "application/json")
        {
            return $"HTTP {status} with content type {response.Content.Headers.ContentType}";
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            var error = doc.RootElement.GetProperty("error");
            var code = error.GetProperty("code").GetInt32();
            if (error.GetProperty("statusCode").GetInt32() != status || code / 100 != status && ErrorCodes.StatusFor(code) != status)
            {
                return $"HTTP {status} with error {text}";
            }

            return response.Headers.TryGetValues("X-Ably-ErrorCode", out var header) && header.Single() == code.ToString(System.Globalization.CultureInfo.InvariantCulture)
                ? null
                : $"HTTP {status} without a matching X-Ably-ErrorCode header";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"HTTP {status} without an Ably error body: {text}";
        }
    }

    /// <summary>The messages of every captured publish, as REST bodies (an array; a lone message as an object too).</summary>
    private static List<byte[]> PublishBodies(WireFormat format)
    {
        var codec = ProtocolCodecs.For(format);
        var bodies = new List<byte[]>();
        foreach (var name in CapturedFrames.ClientFrameNames)
        {
            if (ProtocolCodecs.Json.Decode(CapturedFrames.Client(WireFormat.Json, name)) is { Action: ProtocolAction.Message, Messages: { Count: > 0 } messages })
            {
                bodies.Add(codec.EncodeMessages(messages));
            }
        }

        bodies.Add(format == WireFormat.Json ? Utf8("""{"name":"single","data":{"a":[1,2,{"b":null}]},"extras":{"headers":{"k":"v"}}}""") : codec.EncodeMessages([new Message { Name = "single", Data = MessageData.FromBytes([1, 2, 3]) }]));
        return bodies;
    }

    private static byte[] SignedTokenRequest()
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var nonce = Guid.NewGuid().ToString("N");
        const string capability = """{"*":["subscribe"]}""";
        var mac = TokenRequest.ComputeMac("dev-root-secret", "dev.root", 60_000, capability, "fuzz", timestamp, nonce);
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["keyName"] = "dev.root",
            ["ttl"] = 60_000,
            ["capability"] = capability,
            ["clientId"] = "fuzz",
            ["timestamp"] = timestamp,
            ["nonce"] = nonce,
            ["mac"] = mac,
        });
    }

    /// <summary>A sandbox app with a revocableTokens key, so revokeTokens bodies get past the key check and are parsed.</summary>
    private static async Task<(string Name, AuthenticationHeaderValue Auth)> RevocableKeyAsync(HttpClient http)
    {
        using var response = await http.PostAsync(new Uri("apps", UriKind.Relative), new StringContent("""{"keys":[{"revocableTokens":true}]}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var key = doc.RootElement.GetProperty("keys")[0];
        return (key.GetProperty("keyName").GetString()!, Basic(key.GetProperty("keyStr").GetString()!));
    }

    private static AuthenticationHeaderValue Basic(string key) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key)));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
