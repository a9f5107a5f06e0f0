namespace TokenWire.Server.Push;

/// <summary>Push credentials that cannot be used as configured; the message names the setting to fix.</summary>
public sealed class PushConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
