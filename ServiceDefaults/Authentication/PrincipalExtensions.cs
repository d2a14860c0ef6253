using System.Security.Claims;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>Reading SmartHub principals.</summary>
public static class PrincipalExtensions
{
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(SmartHubClaims.Subject)?.Value, out var id) ? id : Guid.Empty;

    /// <summary>The API key the caller authenticated with, if any.</summary>
    public static Guid? ApiKeyId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(SmartHubClaims.ApiKeyId)?.Value, out var id) ? id : null;

    public static bool IsApiKey(this ClaimsPrincipal principal) =>
        principal.HasClaim(SmartHubClaims.AuthenticationMethod, SmartHubClaims.ApiKeyMethod);

    public static bool HasPermission(this ClaimsPrincipal principal, string permission) =>
        principal.HasClaim(SmartHubClaims.Permission, permission);

    public static IReadOnlyList<string> Permissions(this ClaimsPrincipal principal) =>
        [.. principal.FindAll(SmartHubClaims.Permission).Select(c => c.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
