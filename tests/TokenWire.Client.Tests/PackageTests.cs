using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;
using TokenWire.Client.Tests.Support;

namespace TokenWire.Client.Tests;

/// <summary>
/// The packages as a user gets them: <c>dotnet pack</c> the client, the agent packages and what they depend on into a
/// local folder feed, check each package's metadata, build a fresh console project outside the repository that
/// references the client, the agent and the AI Transport agent, and run it against a real server: it streams tokens
/// to itself and checks they all arrive in order, then streams a simulated agent answer with the agent package.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PackageTests(ServerFixture server)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_fresh_console_project_using_the_packed_client_streams_tokens()
    {
        var root = RepoRoot();
        var work = Directory.CreateTempSubdirectory("tokenwire-package-");
        try
        {
            // A version no earlier run used, so the NuGet cache can never hand back a stale package.
            var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
            var feed = Path.Combine(work.FullName, "feed");
            foreach (var project in Packages)
            {
                await RunAsync("dotnet", ["pack", Path.Combine(root, "src", project), "-c", "Release", "-o", feed, $"-p:PackageVersion={version}"], root);
            }

            foreach (var package in Packages)
            {
                AssertPackageMetadata(Path.Combine(feed, $"{package}.{version}.nupkg"), package);
                Assert.True(File.Exists(Path.Combine(feed, $"{package}.{version}.snupkg")), $"{package}: no symbol package");
            }

            var app = Path.Combine(work.FullName, "app");
            Directory.CreateDirectory(app);
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="TokenWire.Client" Version="{version}" />
                    <PackageReference Include="TokenWire.Agent" Version="{version}" />
                    <PackageReference Include="TokenWire.AITransport" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
                using TokenWire.Agent;
                using TokenWire.Agent.Simulation;
                using TokenWire.AITransport;
                using TokenWire.Client;

                var options = RealtimeClientOptions.Default with
                {
                    Key = args[0], Endpoint = args[1], Port = int.Parse(args[2]), Tls = false,
                };
                await using var client = new RealtimeClient(options);
                var channel = client.Channels.Get(args[3]);
                var subscription = channel.SubscribeAsync("token");
                await channel.AttachAsync();

                const int Tokens = 50;
                await Task.WhenAll(Enumerable.Range(0, Tokens).Select(i => channel.PublishAsync("token", $"t{i}")));
                var next = 0;
                await foreach (var message in subscription)
                {
                    if (message.GetText() != $"t{next}")
                    {
                        Console.WriteLine($"out of order: expected t{next}, got {message.GetText()}");
                        return 1;
                    }

                    if (++next == Tokens)
                    {
                        break;
                    }
                }

                Console.WriteLine($"received {next} tokens in order");

                // The agent package: a simulated model's answer streamed onto a channel, message per token.
                var answer = client.Channels.Get(args[3] + "-agent");
                await answer.AttachAsync();
                var outcome = await new ResponseStreamer(new SimulatedChatClient(new SimulatedChatClientOptions { MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero }))
                    .StreamAsync(new RealtimeResponseChannel(answer), "What is TokenWire?", "r1");
                Console.WriteLine($"agent answer {outcome.Reason} with {outcome.TokenCount} tokens");
                Console.WriteLine($"loaded {typeof(AITransportAgent).Assembly.GetName().Name}");
                return 0;
                """);

            var output = await RunAsync("dotnet", ["run", "--project", app, "--", ServerFixture.RootKey, server.Host, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Wait.UniqueChannel("package")], app);
            Assert.Contains("received 50 tokens in order", output);
            Assert.Matches(@"agent answer complete with [1-9]\d* tokens", output);
            Assert.Contains("loaded TokenWire.AITransport", output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>What a user adds (the client, the agent, the AI Transport agent) and the package they depend on.</summary>
    private static readonly string[] Packages = ["TokenWire.Protocol", "TokenWire.Client", "TokenWire.Agent", "TokenWire.AITransport"];

    /// <summary>Id, version, description, licence expression, README, project and repository URL, as nuget.org shows them.</summary>
    private static void AssertPackageMetadata(string nupkg, string id)
    {
        Assert.True(File.Exists(nupkg), $"{nupkg} was not packed");
        using var archive = ZipFile.OpenRead(nupkg);
        var nuspecEntry = archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspecEntry.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

        Assert.Equal(id, Value("id"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id}: no description");
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
        Assert.Equal("README.md", Value("readme"));
        Assert.Contains(archive.Entries, e => e.FullName == "README.md");
        Assert.Equal("https://github.com/tokenwire/tokenwire", Value("projectUrl"));
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal(("git", "https://github.com/tokenwire/tokenwire"), ((string?)repository.Attribute("type"), (string?)repository.Attribute("url")));
    }

    /// <summary>Runs a command to completion and returns its output; a non-zero exit fails the test with that output.</summary>
    private static async Task<string> RunAsync(string command, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The fresh project must not inherit the repository's build settings through the test run's environment.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        var output = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', arguments)} did not finish in {CommandTimeout}:\n{output}");
        }

        await Task.WhenAll(stdout, stderr);
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output}");
        return output.ToString();
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TokenWire.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("TokenWire.sln not found above the test output");
    }
}
