namespace TokenWire.Server.Engine;

/// <summary>
/// An append named the message that must precede it (its <c>after</c> id: the same publisher's previous publish on
/// the channel) and that message is not in the log: nothing was stored. The caller waits for the predecessor's own
/// outcome and tries again (the publishing layer's LogWriter), which is how a retried publish never overtakes an
/// earlier one.
/// </summary>
public sealed class AppendOutOfOrderException(string afterId)
    : Exception($"The message '{afterId}' this append must follow is not in the log yet")
{
    public string AfterId { get; } = afterId;
}
