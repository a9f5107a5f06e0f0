namespace TokenWire.Server;

/// <summary>
/// <c>TokenWire.Server healthcheck [--url http://127.0.0.1:8080/health]</c>: exits 0 when the node's <c>/health</c>
/// answers 200, else 1. For container health checks: the runtime image has no curl or wget, but it has dotnet.
/// </summary>
public static class HealthCheckCommand
{
    public const string DefaultUrl = "http://127.0.0.1:8080/health";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        var at = Array.IndexOf(args, "--url");
        var url = at >= 0 && at + 1 < args.Length ? args[at + 1] : DefaultUrl;
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(new Uri(url));
            var body = await response.Content.ReadAsStringAsync();
            Console.WriteLine($"{(int)response.StatusCode} {body}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            Console.WriteLine($"unhealthy: {ex.Message}");
            return 1;
        }
    }
}
