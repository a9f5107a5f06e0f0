namespace TokenWire.Server.Configuration;

public sealed class HistoryOptions
{
    /// <summary>Ably keeps history of non-persisted channels for two minutes.</summary>
    public TimeSpan DefaultRetention { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan PersistedRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Upper bound on messages kept per channel, whatever their age, to bound memory.</summary>
    public int MaxMessagesPerChannel { get; set; } = 100_000;

    /// <summary>Window in which a repeated message id is treated as a retry and not delivered again.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(2);
}
