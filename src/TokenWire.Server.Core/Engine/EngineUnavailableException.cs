using TokenWire.Protocol;

namespace TokenWire.Server.Engine;

/// <summary>
/// The engine's store cannot be reached, or is not ready yet (Redis restarting, loading its AOF, failing over). An
/// operation that failed so may or may not have been applied; it is safe to retry because appends are idempotent by
/// message id. Callers wait a short outage out (the publishing layer's LogWriter); answered as 50003 (retriable).
/// </summary>
public sealed class EngineUnavailableException(string message, Exception? inner = null)
    : ProtocolException(ErrorCodes.ServiceUnavailable, message, inner);
