using SmartHub.ServiceDefaults.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;

namespace SmartHub.Gateway.Proxy;

/// <summary>
/// The gateway's routing table: path prefixes to downstream services. Paths are forwarded
/// unchanged; destinations come from the same service-discovery configuration the AppHost
/// injects (<c>services__auth__http__0</c>, ...), every configured index being a destination.
/// </summary>
internal static class GatewayRoutes
{
    /// <summary>The downstream services, in the order their health is reported.</summary>
    public static IReadOnlyList<string> Services { get; } = ["auth", "core", "mcp"];

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("auth", "auth", "/auth/{**rest}"),
        Route("core", "core", "/api/{**rest}"),
        Route("openai", "mcp", "/v1/{**rest}"),
        Route("mcp", "mcp", "/mcp/{**rest}"),
    ];

    /// <summary>One cluster per service; throws naming the missing variable when a service has no address.</summary>
    public static IReadOnlyList<ClusterConfig> Clusters(ServiceEndpointResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);

        var clusters = new List<ClusterConfig>();
        var missing = new List<string>();
        foreach (var service in Services)
        {
            var endpoints = resolver.GetEndpoints(service);
            if (endpoints.Count == 0)
            {
                missing.Add(service);
                continue;
            }

            clusters.Add(new ClusterConfig
            {
                ClusterId = service,
                LoadBalancingPolicy = "PowerOfTwoChoices",
                Destinations = endpoints
                    .Select((endpoint, index) => (endpoint, index))
                    .ToDictionary(
                        e => $"{service}-{e.index}",
                        e => new DestinationConfig { Address = e.endpoint.GetLeftPart(UriPartial.Authority) },
                        StringComparer.OrdinalIgnoreCase),
            });
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                "The gateway cannot start: " + string.Join(" ", missing.Select(service =>
                    $"No address for service '{service}': set {ServiceEndpointResolver.SectionName}__{service}__http__0.")));
        }

        return clusters;
    }

    private static RouteConfig Route(string routeId, string clusterId, string path) => new()
    {
        RouteId = routeId,
        ClusterId = clusterId,
        Match = new RouteMatch { Path = path },
    };
}
