using Microsoft.AspNetCore.Builder;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;

namespace SmartHub.Gateway.Proxy;

/// <summary>
/// The gateway's routing and route-policy table: path prefixes to downstream services, each with who may call it and
/// which limits apply. Paths are forwarded unchanged; destinations come from the same service-discovery configuration
/// the AppHost injects (<c>services__auth__http__0</c>, ...), every configured index being a destination.
/// </summary>
internal static class GatewayRoutes
{
    /// <summary>The downstream services, in the order their health is reported.</summary>
    public static IReadOnlyList<string> Services { get; } = ["auth", "core", "mcp"];

    /// <summary>
    /// The <see cref="GatewayRoute.ClusterId"/> of a row the gateway answers itself (mapped with <see cref="MapOwn"/>,
    /// not forwarded): its policy, rate limit and body limit apply exactly as to a forwarded row.
    /// </summary>
    public const string Self = "gateway";

    /// <summary>
    /// The row of the gateway's own Prometheus endpoint <c>/metrics</c>, mapped by the service defaults and held to its
    /// row with <see cref="AttachOwn"/>: <c>system:read</c>, rate limited per caller like any API call (a scrape every
    /// 15 s is a sliver of the budget; floods of bad credentials are limited by IP as everywhere).
    /// </summary>
    public const string MetricsRouteId = "gateway-metrics";

    private static readonly string[] Post = ["POST"];
    private static readonly string[] Get = ["GET"];
    private static readonly string[] GetOrHead = ["GET", "HEAD"];

    /// <summary>
    /// The route table, <b>in order</b>: a row's position is its YARP <see cref="RouteConfig.Order"/>, so the first row
    /// that matches a request wins and specific rows sit above the catch-all of their prefix. A request no row matches
    /// (and that is not <c>/health</c> or <c>/alive</c>) is a 404.
    /// <list type="bullet">
    /// <item>Anonymous: register, login, refresh, JWKS, the CSP report endpoint (and the gateway's own /health, /alive).</item>
    /// <item><c>/api/v1/security/status</c> and <c>/metrics</c> (answered by the gateway) and
    /// <c>/api/v1/security/violations</c> need <c>system:read</c>; <c>/auth/admin/**</c> needs <c>users:manage</c>; <c>/api/v1/admin/credits/**</c> <c>credits:grant</c>;
    /// <c>/api/v1/admin/usage</c> <c>monitoring:read</c>; other <c>/api/v1/admin/**</c> <c>system:read</c>;
    /// <c>/api/v1/monitoring/**</c> <c>monitoring:read</c>; <c>/v1/**</c> and <c>/mcp</c> <c>chat:use</c>.</item>
    /// <item>Everything else under <c>/auth</c> and <c>/api</c> needs an authenticated identity (JWT or API key).</item>
    /// </list>
    /// To protect a new admin surface, add a row above the catch-all of its prefix, e.g.
    /// <c>new("core-credits-admin", "core", "/api/v1/credits/admin/{**rest}", null, GatewayPolicies.Permission(Permissions.CreditsGrant), Api, Default)</c>.
    /// Downstream services check identity and permissions themselves too; this table is the first line, not the only one.
    /// </summary>
    public static IReadOnlyList<GatewayRoute> Table { get; } =
    [
        // ---- AuthService: /auth/** -------------------------------------------------------------------------------
        new("auth-register", "auth", "/auth/register", Post, GatewayPolicies.Anonymous, RateLimitScope.Auth, BodyLimit.Default),
        new("auth-login", "auth", "/auth/login", Post, GatewayPolicies.Anonymous, RateLimitScope.Auth, BodyLimit.Default),
        new("auth-refresh", "auth", "/auth/refresh", Post, GatewayPolicies.Anonymous, RateLimitScope.Auth, BodyLimit.Default),
        new("auth-jwks", "auth", "/auth/.well-known/jwks.json", GetOrHead, GatewayPolicies.Anonymous, RateLimitScope.Auth, BodyLimit.Default),
        // Authenticated calls under /auth are limited per caller like any API call; the per-IP "auth" limit is for the
        // anonymous credential endpoints above, where the IP is all there is to key on (brute force, sign-up floods).
        new("auth-admin", "auth", "/auth/admin/{**rest}", null, GatewayPolicies.Permission(Permissions.UsersManage), RateLimitScope.Api, BodyLimit.Default),
        new("auth", "auth", "/auth/{**rest}", null, GatewayPolicies.Authenticated, RateLimitScope.Api, BodyLimit.Default),

        // ---- CoreService: /api/** --------------------------------------------------------------------------------
        // CSP reports come from browsers, without credentials: limited per client IP (the API bucket of an anonymous
        // caller), at most 64 KiB each.
        new("core-csp-report", "core", "/api/v1/security/csp-report", Post, GatewayPolicies.Anonymous, RateLimitScope.Api, BodyLimit.CspReport),
        new("gateway-security-status", Self, "/api/v1/security/status", GetOrHead, GatewayPolicies.Permission(Permissions.SystemRead), RateLimitScope.Api, BodyLimit.Default),
        new("core-security-violations", "core", "/api/v1/security/violations", null, GatewayPolicies.Permission(Permissions.SystemRead), RateLimitScope.Api, BodyLimit.Default),
        new("core-admin-credits", "core", "/api/v1/admin/credits/{**rest}", null, GatewayPolicies.Permission(Permissions.CreditsGrant), RateLimitScope.Api, BodyLimit.Default),
        new("core-admin-usage", "core", "/api/v1/admin/usage", null, GatewayPolicies.Permission(Permissions.MonitoringRead), RateLimitScope.Api, BodyLimit.Default),
        new("core-admin", "core", "/api/v1/admin/{**rest}", null, GatewayPolicies.Permission(Permissions.SystemRead), RateLimitScope.Api, BodyLimit.Default),
        new("core-monitoring", "core", "/api/v1/monitoring/{**rest}", null, GatewayPolicies.Permission(Permissions.MonitoringRead), RateLimitScope.Api, BodyLimit.Default),
        new("core", "core", "/api/{**rest}", null, GatewayPolicies.Authenticated, RateLimitScope.Api, BodyLimit.Default),

        // ---- McpServer: the OpenAI-compatible API and MCP ---------------------------------------------------------
        new("openai", "mcp", "/v1/{**rest}", null, GatewayPolicies.Permission(Permissions.ChatUse), RateLimitScope.Api, BodyLimit.Chat),
        new("mcp", "mcp", "/mcp/{**rest}", null, GatewayPolicies.Permission(Permissions.ChatUse), RateLimitScope.Api, BodyLimit.Chat),

        // ---- The gateway itself ------------------------------------------------------------------------------------
        new(MetricsRouteId, Self, "/metrics", Get, GatewayPolicies.Permission(Permissions.SystemRead), RateLimitScope.Api, BodyLimit.Default),
    ];

    /// <summary>
    /// The forwarded rows as YARP routes; each row's index is its <see cref="RouteConfig.Order"/> (the rows the
    /// gateway answers itself keep their index as their endpoint's order, see <see cref="MapOwn"/>).
    /// </summary>
    public static IReadOnlyList<RouteConfig> Routes { get; } = [.. Table
        .Select((row, index) => (row, index))
        .Where(r => r.row.ClusterId != Self)
        .Select(r => new RouteConfig
        {
            RouteId = r.row.RouteId,
            ClusterId = r.row.ClusterId,
            Order = r.index,
            AuthorizationPolicy = r.row.Policy,
            Match = new RouteMatch { Path = r.row.Path, Methods = r.row.Methods },
        })];

    /// <summary>
    /// Maps a row the gateway answers itself (<see cref="Self"/>) to <paramref name="handler"/>: its path, methods and
    /// order from the table, the row attached as metadata (rate limit, body limit, the authorization fast path), and
    /// its policy as the endpoint's authorization.
    /// </summary>
    public static RouteHandlerBuilder MapOwn(IEndpointRouteBuilder app, string routeId, Delegate handler)
    {
        ArgumentNullException.ThrowIfNull(app);
        var row = OwnRow(routeId).Row;
        return AttachOwn(row.Methods is null ? app.Map(row.Path, handler) : app.MapMethods(row.Path, row.Methods, handler), routeId);
    }

    /// <summary>
    /// Holds an endpoint mapped elsewhere (the service defaults' <c>/metrics</c>) to its row (<see cref="Self"/>): order,
    /// the row as metadata, and its policy as the endpoint's authorization, as <see cref="MapOwn"/> does.
    /// </summary>
    public static TBuilder AttachOwn<TBuilder>(TBuilder endpoint, string routeId)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var (row, index) = OwnRow(routeId);
        endpoint.WithOrder(index).WithMetadata(row);
        return row.Policy switch
        {
            GatewayPolicies.Anonymous => endpoint.AllowAnonymous(),
            GatewayPolicies.Authenticated => endpoint.RequireAuthorization(),
            _ => endpoint.RequireAuthorization(row.Policy),
        };
    }

    private static (GatewayRoute Row, int Index) OwnRow(string routeId)
    {
        var index = Table.Select((row, i) => (row, i)).Single(r => string.Equals(r.row.RouteId, routeId, StringComparison.Ordinal)).i;
        var row = Table[index];
        return row.ClusterId == Self
            ? (row, index)
            : throw new InvalidOperationException($"Route '{routeId}' is forwarded to '{row.ClusterId}', not answered by the gateway.");
    }

    /// <summary>The named (non-special) policies the table refers to; each must be registered at start-up.</summary>
    public static IReadOnlyList<string> NamedPolicies { get; } = [.. Table
        .Select(row => row.Policy)
        .Where(policy => policy is not (GatewayPolicies.Anonymous or GatewayPolicies.Authenticated))
        .Distinct(StringComparer.Ordinal)];

    private static readonly Dictionary<string, GatewayRoute> s_byId = Table.ToDictionary(row => row.RouteId, StringComparer.OrdinalIgnoreCase);

    /// <summary>The row of a route id, or null.</summary>
    public static GatewayRoute? Find(string routeId) => s_byId.GetValueOrDefault(routeId);

    /// <summary>
    /// For <c>MapReverseProxy().ConfigureEndpoints(...)</c>: attaches the row to its YARP endpoint, where the edge
    /// middleware (rate limits, body limits, error shapes) finds it with <c>GetEndpoint()?.Metadata.GetMetadata</c>.
    /// </summary>
    public static void AttachRow(IEndpointConventionBuilder endpoint, RouteConfig route)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(route);

        if (Find(route.RouteId) is { } row)
        {
            endpoint.WithMetadata(row);
        }
    }

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
}
