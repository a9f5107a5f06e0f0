using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Auth;

/// <summary>
/// The apps and keys, indexed by key name: those from configuration, plus apps created at runtime by sandbox
/// provisioning (<c>POST /apps</c>).
/// </summary>
public sealed class AppRegistry
{
    private readonly ConcurrentDictionary<string, ApiKey> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AppDefinition> _apps = new(StringComparer.Ordinal);

    private readonly LimitOptions _limits;

    public AppRegistry(IOptions<TokenWireOptions> options)
    {
        _limits = options.Value.Limits;
        foreach (var app in options.Value.Apps)
        {
            Add(app);
        }
    }

    public IReadOnlyCollection<AppDefinition> Apps => (IReadOnlyCollection<AppDefinition>)_apps.Values;

    public AppDefinition? FindApp(string appId) => _apps.GetValueOrDefault(appId);

    public ApiKey? FindKey(string keyName) => _keys.GetValueOrDefault(keyName);

    /// <summary>Validates and registers an app; throws <see cref="InvalidOperationException"/> saying what is wrong.</summary>
    public AppDefinition Add(AppOptions app)
    {
        if (string.IsNullOrWhiteSpace(app.Id) || app.Id.Contains('.') || app.Id.Contains(':'))
        {
            throw new InvalidOperationException($"TokenWire:Apps: app id '{app.Id}' must be non-empty without '.' or ':'");
        }

        if (app.MaxMessageSize is { } size && (size <= 0 || size > _limits.MaxFrameSize))
        {
            throw new InvalidOperationException($"TokenWire:Apps:{app.Id}: MaxMessageSize {size} must be positive and at most Limits:MaxFrameSize ({_limits.MaxFrameSize})");
        }

        var keys = new Dictionary<string, ApiKey>(StringComparer.Ordinal);
        foreach (var key in app.Keys)
        {
            if (string.IsNullOrWhiteSpace(key.Id) || string.IsNullOrEmpty(key.Secret)
                || key.Secret.Contains(':') || key.Secret.Contains('.'))
            {
                throw new InvalidOperationException(
                    $"TokenWire:Apps:{app.Id}: key '{key.Id}' needs an id and a secret without ':' or '.'");
            }

            Capability capability;
            try
            {
                capability = Capability.Parse(key.Capability);
            }
            catch (FormatException ex)
            {
                throw new InvalidOperationException($"TokenWire:Apps:{app.Id}: key '{key.Id}': {ex.Message}", ex);
            }

            var apiKey = new ApiKey(app.Id, key.Id, key.Secret, capability, key.RevocableTokens);
            keys[apiKey.Name] = apiKey;
        }

        var definition = new AppDefinition(
            app.Id,
            keys,
            app.Namespaces.Where(n => n.Persisted).Select(n => n.Name).ToHashSet(StringComparer.Ordinal),
            app.MaxMessageSize ?? _limits.MaxMessageSize,
            app.MaxPresenceMembers ?? _limits.MaxPresenceMembers,
            app.Namespaces.Where(n => n.MutableMessages).Select(n => n.Name).ToHashSet(StringComparer.Ordinal),
            app.Namespaces.Where(n => n.PushEnabled is not null).GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().PushEnabled!.Value, StringComparer.Ordinal),
            app.PushEnabled);
        if (!_apps.TryAdd(app.Id, definition))
        {
            throw new InvalidOperationException($"TokenWire:Apps: app id '{app.Id}' is configured twice");
        }

        foreach (var (name, key) in keys)
        {
            _keys[name] = key;
        }

        return definition;
    }

    public bool Remove(string appId)
    {
        if (!_apps.TryRemove(appId, out var app))
        {
            return false;
        }

        foreach (var name in app.Keys.Keys)
        {
            _keys.TryRemove(name, out _);
        }

        return true;
    }
}
