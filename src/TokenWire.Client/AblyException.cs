using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>An operation failed with an Ably error: a NACK, a refused attach, a REST error response, a timeout.</summary>
public sealed class AblyException : Exception
{
    public AblyException(ErrorInfo errorInfo, Exception? innerException = null)
        : base(errorInfo.ToString(), innerException)
    {
        ErrorInfo = errorInfo;
    }

    public AblyException(int code, string message, Exception? innerException = null)
        : this(ErrorCodes.Create(code, message), innerException)
    {
    }

    public ErrorInfo ErrorInfo { get; }

    /// <summary>The Ably error code, e.g. 40160 (not permitted), 80003 (disconnected).</summary>
    public int Code => ErrorInfo.Code;

    /// <summary>The HTTP-style status, e.g. 401.</summary>
    public int StatusCode => ErrorInfo.StatusCode;
}
