using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// SmartHub's permissions. Roles map to them in authdb (seeded by AuthService's migrations); API-key scopes are
/// permissions too, so a key's effective permissions are its owner's permissions ∩ its scopes.
/// </summary>
public static class Permissions
{
    public const string MonitoringRead = "monitoring:read";
    public const string SystemRead = "system:read";
    public const string UsersManage = "users:manage";
    public const string CreditsGrant = "credits:grant";
    public const string KeysManage = "keys:manage";
    public const string ChatUse = "chat:use";

    /// <summary>Prefix of the authorization policy of each permission: <c>perm:users:manage</c>.</summary>
    public const string PolicyPrefix = "perm:";

    public static IReadOnlyList<string> All { get; } =
        [MonitoringRead, SystemRead, UsersManage, CreditsGrant, KeysManage, ChatUse];

    /// <summary>The name of the policy requiring <paramref name="permission"/>: <c>perm:&lt;permission&gt;</c>.</summary>
    public static string Policy(string permission) => PolicyPrefix + permission;

    public static bool IsKnown(string permission) => All.Contains(permission, StringComparer.Ordinal);
}

/// <summary>SmartHub's roles (their permissions live in authdb).</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Manager = "manager";
    public const string User = "user";

    public static IReadOnlyList<string> All { get; } = [Admin, Manager, User];
}

public static class PermissionPolicyExtensions
{
    /// <summary>
    /// Adds one policy per permission, named <c>perm:&lt;permission&gt;</c> (e.g. "perm:users:manage"): an authenticated
    /// principal (JWT or API key, through the default "SmartHub" scheme) carrying that <c>permission</c> claim. The
    /// fallback policy stays null: endpoints opt in with <c>RequireAuthorization()</c>, so health probes stay anonymous.
    /// The policies name no scheme on purpose: the default one already produced <c>HttpContext.User</c>, and naming it
    /// would make the policy evaluator authenticate again and merge principals on every request.
    /// </summary>
    public static AuthorizationOptions AddPermissionPolicies(this AuthorizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        foreach (var permission in Permissions.All)
        {
            options.AddPolicy(Permissions.Policy(permission), policy => policy
                .RequireAuthenticatedUser()
                .RequireClaim(SmartHubClaims.Permission, permission));
        }

        options.FallbackPolicy = null;
        return options;
    }

    /// <summary>Requires the <c>perm:&lt;permission&gt;</c> policy on an endpoint or group.</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(permission);
        return builder.RequireAuthorization(Permissions.Policy(permission));
    }
}
