using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.Gateway.Proxy;

/// <summary>Which token bucket a route draws from (see <see cref="RateLimiting.RateLimitOptions"/>).</summary>
internal enum RateLimitScope
{
    /// <summary>Not limited.</summary>
    None,

    /// <summary><c>RateLimits:Api</c>, keyed by API key, else user, else client IP.</summary>
    Api,

    /// <summary><c>RateLimits:Auth</c>, keyed by client IP.</summary>
    Auth,
}

/// <summary>Which request body limit applies (see <see cref="Edge.GatewayOptions"/>).</summary>
internal enum BodyLimit
{
    /// <summary><c>Gateway:MaxRequestBodyBytes</c> (1 MiB).</summary>
    Default,

    /// <summary><c>Gateway:MaxChatRequestBodyBytes</c> (8 MiB): chat prompts and MCP tool calls can be large.</summary>
    Chat,

    /// <summary><c>Gateway:MaxCspReportBodyBytes</c> (64 KiB): browsers' CSP violation reports, anonymous, so kept small.</summary>
    CspReport,
}

/// <summary>
/// One row of the gateway's route table (<see cref="GatewayRoutes.Table"/>): which requests it matches, where they go,
/// who may send them and which limits apply. Attached to the YARP endpoint as metadata, so the edge middleware reads
/// the row of the matched route with one metadata lookup.
/// </summary>
/// <param name="RouteId">YARP route id, also the <c>route</c> of response-time samples.</param>
/// <param name="ClusterId">The downstream service (a name from <see cref="GatewayRoutes.Services"/>).</param>
/// <param name="Path">YARP/ASP.NET route template; <c>{**rest}</c> matches the prefix itself and everything below it.</param>
/// <param name="Methods">HTTP methods, or null for any.</param>
/// <param name="Policy">
/// YARP authorization policy: <see cref="GatewayPolicies.Anonymous"/>, <see cref="GatewayPolicies.Authenticated"/>
/// (the default policy: any valid identity) or a named policy such as <c>perm:users:manage</c>.
/// </param>
internal sealed record GatewayRoute(
    string RouteId,
    string ClusterId,
    string Path,
    IReadOnlyList<string>? Methods,
    string Policy,
    RateLimitScope RateLimit,
    BodyLimit BodyLimit)
{
    /// <summary>The permission a named <c>perm:*</c> policy requires, or null.</summary>
    public string? Permission => Policy.StartsWith(GatewayPolicies.PermissionPrefix, StringComparison.Ordinal)
        ? Policy[GatewayPolicies.PermissionPrefix.Length..]
        : null;
}

/// <summary>Policy names used in the route table.</summary>
internal static class GatewayPolicies
{
    /// <summary>YARP's special value: no authorization at all (AllowAnonymous), even with invalid credentials attached.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>YARP's special value: the default authorization policy, i.e. any authenticated identity.</summary>
    public const string Authenticated = "default";

    /// <summary>Prefix of the permission policies created by ServiceDefaults' <c>AddPermissionPolicies()</c>.</summary>
    public const string PermissionPrefix = Permissions.PolicyPrefix;

    /// <summary><c>perm:&lt;permission&gt;</c>: an identity carrying that <c>permission</c> claim.</summary>
    public static string Permission(string permission) => Permissions.Policy(permission);
}
