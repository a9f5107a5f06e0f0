namespace TokenWire.Server.Configuration;

/// <summary>The <c>TokenWire</c> configuration section (appsettings.json, <c>TokenWire__*</c> variables, command line).</summary>
public sealed class TokenWireOptions
{
    public const string SectionName = "TokenWire";

    /// <summary>Identifies this node in <c>connectionDetails.serverId</c> and logs.</summary>
    public string ServerId { get; set; } = $"tokenwire-{Environment.MachineName.ToLowerInvariant()}";

    public List<AppOptions> Apps { get; set; } = [];

    public LimitOptions Limits { get; set; } = new();

    public ConnectionOptions Connection { get; set; } = new();

    public HistoryOptions History { get; set; } = new();

    public PresenceOptions Presence { get; set; } = new();
}
