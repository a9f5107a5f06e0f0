using Microsoft.Extensions.Options;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Auth;

/// <summary>The apps and keys from configuration, indexed by key name.</summary>
public sealed class AppRegistry
{
    private readonly Dictionary<string, ApiKey> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AppDefinition> _apps = new(StringComparer.Ordinal);

    public AppRegistry(IOptions<TokenWireOptions> options)
    {
        foreach (var app in options.Value.Apps)
        {
            if (string.IsNullOrWhiteSpace(app.Id) || app.Id.Contains('.') || app.Id.Contains(':'))
            {
                throw new InvalidOperationException($"TokenWire:Apps: app id '{app.Id}' must be non-empty without '.' or ':'");
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

                var apiKey = new ApiKey(app.Id, key.Id, key.Secret, capability);
                keys[apiKey.Name] = apiKey;
            }

            var definition = new AppDefinition(
                app.Id,
                keys,
                app.Namespaces.Where(n => n.Persisted).Select(n => n.Name).ToHashSet(StringComparer.Ordinal));
            _apps[app.Id] = definition;
            foreach (var (name, key) in keys)
            {
                _keys[name] = key;
            }
        }
    }

    public IReadOnlyCollection<AppDefinition> Apps => _apps.Values;

    public AppDefinition? FindApp(string appId) => _apps.GetValueOrDefault(appId);

    public ApiKey? FindKey(string keyName) => _keys.GetValueOrDefault(keyName);
}
