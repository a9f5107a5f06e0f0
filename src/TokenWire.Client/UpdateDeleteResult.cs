namespace TokenWire.Client;

/// <summary>The outcome of an update, delete or append: the serial of the new version (ably-js <c>versionSerial</c>).</summary>
public sealed record UpdateDeleteResult(string? VersionSerial);
