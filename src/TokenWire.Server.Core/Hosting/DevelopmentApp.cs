using TokenWire.Server.Configuration;

namespace TokenWire.Server.Hosting;

/// <summary>
/// DEVELOPMENT KEYS — public, for local use only. Installed when the server runs in the Development environment
/// with no apps configured, so <c>dotnet run</c> works out of the box. Never used in any other environment.
/// </summary>
public static class DevelopmentApp
{
    public const string AppId = "dev";
    public const string RootKey = "dev.root:dev-root-secret";
    public const string SubscribeKey = "dev.sub:dev-sub-secret";
    public const string RootKeyName = "dev.root";
    public const string SubscribeKeyName = "dev.sub";

    public static AppOptions Create() => new()
    {
        Id = AppId,
        Keys =
        [
            new KeyOptions { Id = "root", Secret = "dev-root-secret", Capability = """{"*":["*"]}""" },
            new KeyOptions { Id = "sub", Secret = "dev-sub-secret", Capability = """{"*":["subscribe","history"]}""" },
        ],
        // Every channel may carry push, so the demo and a laptop's first try work unconfigured; configured apps
        // enable push per namespace (or app-wide) as on Ably.
        PushEnabled = true,
        Namespaces =
        [
            new NamespaceOptions { Name = "persisted", Persisted = true },
            new NamespaceOptions { Name = "mutable", MutableMessages = true },
        ],
    };
}
