using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Request plumbing: headers (reference §5.1), deadlines, error bodies, one retry after a token renewal.</summary>
public sealed partial class RestClient
{
    internal static readonly string AgentString = $"tokenwire-dotnet/{typeof(RestClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"} dotnet/{Environment.Version}";

    private sealed record RestResponse(int Status, byte[] Body, string? ContentType, IEnumerable<string> Links);

    private async Task<RestResponse> SendAsync(HttpMethod method, string pathAndQuery, byte[]? body, bool authenticate, bool acceptJson, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, new Uri(_origin + pathAndQuery, UriKind.Absolute));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(acceptJson ? RestBodies.JsonContentType : _accept));
            request.Headers.Add("X-Ably-Version", "6");
            request.Headers.TryAddWithoutValidation("Ably-Agent", AgentString);
            if (Options.ClientId is { } clientId)
            {
                request.Headers.Add("X-Ably-ClientId", Convert.ToBase64String(Encoding.UTF8.GetBytes(clientId)));
            }

            if (authenticate)
            {
                request.Headers.Authorization = await _auth.GetAuthorizationAsync(cancellationToken).ConfigureAwait(false);
            }

            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(_accept);
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Options.HttpRequestTimeout);
            int status;
            byte[] bytes;
            string? contentType;
            IEnumerable<string> links;
            string? errorCode = null, errorMessage = null;
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
                bytes = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
                status = (int)response.StatusCode;
                contentType = response.Content.Headers.ContentType?.MediaType;
                links = response.Headers.TryGetValues("Link", out var values) ? [.. values] : [];
                if (!response.IsSuccessStatusCode)
                {
                    errorCode = response.Headers.TryGetValues("X-Ably-ErrorCode", out var codes) ? codes.FirstOrDefault() : null;
                    errorMessage = response.Headers.TryGetValues("X-Ably-ErrorMessage", out var messages) ? messages.FirstOrDefault() : null;
                }
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new AblyException(new ErrorInfo(ErrorCodes.ServiceUnavailable, 503, $"REST request {method} {pathAndQuery} timed out after {Options.HttpRequestTimeout}"), ex);
            }
            catch (HttpRequestException ex)
            {
                throw new AblyException(new ErrorInfo(ErrorCodes.ConnectionFailed, 503, $"REST request {method} {pathAndQuery} failed: {ex.Message}"), ex);
            }

            ClientLog.RestRequest(_logger, method.Method, pathAndQuery, status);
            if (status is >= 200 and < 300)
            {
                return new RestResponse(status, bytes, contentType, links);
            }

            var error = RestBodies.ReadError((System.Net.HttpStatusCode)status, bytes, contentType, errorCode, errorMessage);
            if (attempt == 0 && authenticate && _auth.UsesToken && AuthProvider.IsTokenError(error))
            {
                ClientLog.RestTokenRenewal(_logger, error.Code);
                _auth.InvalidateToken();
                continue;
            }

            throw new AblyException(error);
        }
    }
}
