using Microsoft.AspNetCore.Routing;

namespace TokenWire.Agent.Hosting;

public static class TokenWireAgentEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>POST /agent/prompts</c>. Call after <c>MapTokenWire</c>, whose middleware turns errors into Ably error bodies.</summary>
    public static IEndpointRouteBuilder MapTokenWireAgent(this IEndpointRouteBuilder routes) => routes.MapAgentApi();
}
