namespace TokenWire.Protocol;

/// <summary>Thrown for input that breaks the protocol; carries the Ably error to answer with.</summary>
public class ProtocolException(ErrorInfo error, Exception? inner = null) : Exception(error.Message, inner)
{
    public ErrorInfo Error { get; } = error;

    public ProtocolException(int code, string message, Exception? inner = null)
        : this(ErrorCodes.Create(code, message), inner)
    {
    }
}
