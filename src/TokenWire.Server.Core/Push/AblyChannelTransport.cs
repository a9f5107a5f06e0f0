using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// Ably's <c>ablyChannel</c> test transport, as the SDKs' push test suites register it: the notification is published
/// over REST to the recipient's <c>ablyUrl</c> with its <c>ablyKey</c>, on its <c>channel</c>, as a message named
/// <c>__ably_push__</c> whose data is the payload's JSON. On only when <see cref="PushOptions.AblyChannelTransport"/>
/// (or the sandbox) says so, since it sends requests to a URL any registration may name.
/// </summary>
public sealed class AblyChannelTransport(IHttpClientFactory httpClients, IOptions<TokenWireOptions> options, IOptions<SandboxOptions> sandbox) : IPushTransport
{
    public bool Handles(string transportType) => transportType == "ablyChannel";

    public async Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        if (!(options.Value.Push.AblyChannelTransport ?? sandbox.Value.Enabled))
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, "The ablyChannel push transport is off on this server (TokenWire:Push:AblyChannelTransport)"), permanent: false);
        }

        var url = recipient.GetProperty("ablyUrl").GetString()!.TrimEnd('/') + "/channels/" + Uri.EscapeDataString(recipient.GetProperty("channel").GetString()!) + "/messages";
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = "__ably_push__", ["data"] = payload.GetRawText() }, PushJsonContext.Default.DictionaryStringString);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(recipient.GetProperty("ablyKey").GetString()!)));
        try
        {
            using var response = await httpClients.CreateClient(nameof(AblyChannelTransport)).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushRejectedByProvider, 400, $"The recipient's Ably endpoint refused the notification ({(int)response.StatusCode})"), permanent: false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "The recipient's Ably endpoint could not be reached: " + ex.Message), permanent: false, ex);
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class PushJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
