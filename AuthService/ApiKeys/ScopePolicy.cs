using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.ApiKeys;

public sealed record ScopeValidation(IReadOnlyList<string> Scopes, IReadOnlyList<string> Unknown, IReadOnlyList<string> NotGranted)
{
    public bool IsValid => Unknown.Count == 0 && NotGranted.Count == 0;
}

/// <summary>
/// API-key scopes are permissions. A key may only be given scopes its owner has (and, when an API key creates a key,
/// that the creating key has); what it can do at any moment is its owner's current permissions ∩ its scopes, so taking
/// a role away from the owner also takes it from their keys.
/// </summary>
public static class ScopePolicy
{
    public const int MaxScopes = 32;

    public static IReadOnlyList<string> DefaultScopes { get; } = [Permissions.ChatUse];

    /// <param name="requested">Null or empty: the default, ["chat:use"].</param>
    /// <param name="ownerPermissions">The owner's permissions now.</param>
    /// <param name="callerPermissions">When the request is authenticated by an API key: that key's effective permissions.</param>
    public static ScopeValidation Validate(
        IEnumerable<string>? requested, IReadOnlyCollection<string> ownerPermissions, IReadOnlyCollection<string>? callerPermissions = null)
    {
        ArgumentNullException.ThrowIfNull(ownerPermissions);
        var scopes = (requested ?? []).Select(s => s?.Trim() ?? "").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (scopes.Count == 0)
        {
            scopes = [.. DefaultScopes];
        }

        var unknown = scopes.Where(s => !Permissions.IsKnown(s)).ToList();
        var notGranted = scopes
            .Where(s => Permissions.IsKnown(s)
                && (!ownerPermissions.Contains(s, StringComparer.Ordinal)
                    || (callerPermissions is not null && !callerPermissions.Contains(s, StringComparer.Ordinal))))
            .ToList();
        return new ScopeValidation(scopes, unknown, notGranted);
    }

    /// <summary>The key's effective permissions: owner's ∩ scopes, sorted.</summary>
    public static IReadOnlyList<string> Effective(IEnumerable<string> ownerPermissions, IEnumerable<string> scopes)
    {
        ArgumentNullException.ThrowIfNull(ownerPermissions);
        ArgumentNullException.ThrowIfNull(scopes);
        var granted = new HashSet<string>(ownerPermissions, StringComparer.Ordinal);
        return [.. scopes.Where(granted.Contains).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }
}
