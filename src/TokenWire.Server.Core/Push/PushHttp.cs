using System.Net;

namespace TokenWire.Server.Push;

/// <summary>
/// The HTTP version of a request to a push provider. APNs speaks only HTTP/2; over <c>http://</c> (a test's fake
/// provider, never the real ones) HTTP/2 is used with prior knowledge, since there is no TLS to negotiate it.
/// </summary>
internal static class PushHttp
{
    public static HttpRequestMessage Request(HttpMethod method, Uri uri, bool http2Only)
    {
        var cleartext = uri.Scheme == Uri.UriSchemeHttp;
        return new HttpRequestMessage(method, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = http2Only || cleartext ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
        };
    }
}
