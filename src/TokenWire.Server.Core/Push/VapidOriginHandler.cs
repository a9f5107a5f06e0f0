using System.Net.Http.Headers;
using Lib.Net.Http.WebPush.Authentication;

namespace TokenWire.Server.Push;

/// <summary>
/// Re-signs the VAPID JWT for push endpoints on a non-default port. RFC 8292 makes the JWT's <c>aud</c> the push
/// resource's origin, port included; Lib.Net.Http.WebPush 3.3.1 leaves the port out, which a push service on such a
/// port refuses. Public push services use 443, so for them this changes nothing.
/// </summary>
internal sealed class VapidOriginHandler(VapidAuthentication vapid) : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { IsDefaultPort: false } uri && request.Headers.Authorization is { Scheme: "vapid" })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("vapid", vapid.GetVapidSchemeAuthenticationHeaderValueParameter(uri.GetLeftPart(UriPartial.Authority)));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
