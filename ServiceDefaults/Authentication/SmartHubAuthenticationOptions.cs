using System.ComponentModel.DataAnnotations;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// Section "Auth", as every service reads it to validate identities (AuthService's own AuthOptions binds the same
/// section for issuing them). Everything has a working default; services normally configure nothing here.
/// </summary>
public sealed class SmartHubAuthenticationOptions
{
    public const string SectionName = "Auth";

    [Required]
    public string Issuer { get; set; } = "smarthub";

    [Required]
    public string Audience { get; set; } = "smarthub";

    /// <summary>Allowed clock difference when checking exp/nbf.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The JWKS document (service discovery resolves <c>http://auth</c>).</summary>
    [Required]
    public Uri JwksUri { get; set; } = new(SmartHubAuth.DefaultJwksUri);

    /// <summary>How long fetched public keys are used before the JWKS is fetched again.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan JwksCacheDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Minimum interval between fetches triggered by an unknown <c>kid</c> (an unknown kid is otherwise an easy DoS lever).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan JwksRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>AuthService's internal verification endpoint for API keys missing from Redis.</summary>
    [Required]
    public Uri ApiKeyVerifyUri { get; set; } = new(SmartHubAuth.DefaultApiKeyVerifyUri);

    /// <summary>
    /// Lifetime of an entry in the in-process API-key and user-revocation caches. At most 1 s: together with the pub/sub
    /// eviction it bounds how long a revoked key keeps working (the issue demands ≤ 2 s at every gateway).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:01")]
    public TimeSpan LocalCacheDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of entries in each in-process cache (API keys, revocation lookups, validated tokens).</summary>
    [Range(16, 1_000_000)]
    public int LocalCacheSize { get; set; } = 10_000;

    /// <summary>Timeout of one call to AuthService (JWKS, API-key verification).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan AuthServiceTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Section "Internal": the shared secret of service-to-service calls (header <c>X-Internal-Token</c>).</summary>
public sealed class InternalOptions
{
    public const string SectionName = "Internal";

    /// <summary>Injected by the AppHost into every service as <c>Internal__Token</c>.</summary>
    [Required(ErrorMessage = "Internal:Token is required (the AppHost injects Internal__Token into every service).")]
    [MinLength(32, ErrorMessage = "Internal:Token must have at least 32 characters.")]
    public string Token { get; set; } = "";
}
