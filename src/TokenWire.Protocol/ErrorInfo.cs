namespace TokenWire.Protocol;

/// <summary>An Ably ErrorInfo (spec TI1): <c>{ code, statusCode, message, href }</c>.</summary>
public sealed record ErrorInfo(int Code, int StatusCode, string Message)
{
    public string Href => $"https://help.ably.io/error/{Code}";

    public override string ToString() => $"[{Code}/{StatusCode}] {Message}";
}
