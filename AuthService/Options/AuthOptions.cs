using System.ComponentModel.DataAnnotations;

namespace SmartHub.AuthService.Options;

/// <summary>Section "Auth": how AuthService issues identities (services read Issuer/Audience from the same section).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>OWASP's figure for PBKDF2-HMAC-SHA256 (2023).</summary>
    public const int MinimumPasswordIterations = 600_000;

    [Required]
    public string Issuer { get; set; } = "smarthub";

    [Required]
    public string Audience { get; set; } = "smarthub";

    [Range(1, 60)]
    public int AccessTokenMinutes { get; set; } = 15;

    [Range(1, 365)]
    public int RefreshTokenDays { get; set; } = 14;

    [Range(1, 3650)]
    public int SigningKeyRotationDays { get; set; } = 30;

    /// <summary>PBKDF2 iterations for new hashes; stored hashes with fewer are rehashed at the next login.</summary>
    [Range(MinimumPasswordIterations, 100_000_000, ErrorMessage = "Auth:PasswordIterations must be at least 600000 (OWASP).")]
    public int PasswordIterations { get; set; } = MinimumPasswordIterations;

    [Range(1, 100)]
    public int LockoutThreshold { get; set; } = 5;

    [Range(1, 24 * 60)]
    public int LockoutMinutes { get; set; } = 15;

    /// <summary>Audit entries older than this are deleted (hourly, in batches): failed logins alone could grow the table without bound.</summary>
    [Range(1, 3650)]
    public int AuditRetentionDays { get; set; } = 90;

    /// <summary>How often recent revocations are written to Redis again (see RevocationReplay).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RevocationReplayInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Secret the AES-256-GCM key for signing keys at rest is derived from (HKDF-SHA256). Injected by the AppHost.</summary>
    [Required(ErrorMessage = "Auth:KeyEncryptionKey is required (the AppHost injects Auth__KeyEncryptionKey).")]
    [MinLength(32, ErrorMessage = "Auth:KeyEncryptionKey must have at least 32 characters.")]
    public string KeyEncryptionKey { get; set; } = "";

    /// <summary>Allowed clock difference when validating tokens; also part of how long retired keys stay published.</summary>
    public static TimeSpan ClockSkew { get; } = TimeSpan.FromSeconds(30);

    public TimeSpan AccessTokenLifetime => TimeSpan.FromMinutes(AccessTokenMinutes);

    public TimeSpan RefreshTokenLifetime => TimeSpan.FromDays(RefreshTokenDays);

    public TimeSpan SigningKeyRotation => TimeSpan.FromDays(SigningKeyRotationDays);

    public TimeSpan LockoutDuration => TimeSpan.FromMinutes(LockoutMinutes);
}

/// <summary>Section "Bootstrap": the first admin, created when no admin exists (AppHost parameters admin-email/admin-password).</summary>
public sealed class BootstrapOptions
{
    public const string SectionName = "Bootstrap";

    [Required]
    [MaxLength(254)]
    public string AdminEmail { get; set; } = "admin@smarthub.local";

    /// <summary>No default anywhere: without it and without an admin, AuthService logs an error and creates nobody.</summary>
    public string? AdminPassword { get; set; }
}
