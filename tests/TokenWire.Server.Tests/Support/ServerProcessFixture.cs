using System.Collections.Concurrent;
using TokenWire.Testing;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// A real server process (<see cref="ServerProcess"/>) with sandbox provisioning on and the in-process agent off. Lines at
/// error level or above (<c>fail:</c>, <c>crit:</c>, and the lines under them) are collected, since hardening tests
/// assert there are none.
/// </summary>
public sealed class ServerProcessFixture : IAsyncLifetime
{
    public const string RootKey = ServerProcess.RootKey;

    /// <summary>Enough error lines to diagnose; bounded for long fuzz runs.</summary>
    private const int KeptErrorLines = 2000;

    private readonly ConcurrentQueue<string> _errors = new();
    private ServerProcess? _server;
    private bool _inError;

    public string Host => Server.Host;

    public int Port => Server.Port;

    public Uri BaseUri => Server.BaseUri;

    public bool HasExited => _server is null || _server.HasExited;

    /// <summary>Error-level log entries (the <c>fail:</c>/<c>crit:</c> line and the lines under it).</summary>
    public IReadOnlyCollection<string> ErrorLines => _errors;

    public string OutputTail => Server.OutputTail;

    private ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started");

    public async Task InitializeAsync() =>
        _server = await ServerProcess.StartAsync(["--sandbox", "--TokenWire:Agent:Enabled=false"], Observe);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private void Observe(string line)
    {
        lock (_errors)
        {
            // The console logger writes "fail: Category[id]" and then the message and exception indented below it.
            if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
            {
                _inError = true;
            }
            else if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                _inError = false;
            }

            if (_inError && _errors.Count < KeptErrorLines)
            {
                _errors.Enqueue(line);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerProcessCollection : ICollectionFixture<ServerProcessFixture>
{
    public const string Name = "tokenwire-server-process";
}
