using System.ComponentModel.DataAnnotations;

namespace SmartHub.CoreService.Credits;

/// <summary>Section "Credits": the ledger's settings, validated at start.</summary>
public sealed class CreditsOptions
{
    public const string SectionName = "Credits";

    /// <summary>The largest amount one operation may move (keeps every sum far from 64-bit overflow).</summary>
    public const long MaxAmount = 1_000_000_000_000;

    /// <summary>Credits a new account receives, once.</summary>
    [Range(0, MaxAmount)]
    public long SignupGrant { get; set; } = 1_000;

    /// <summary>How long a reservation may stay unsettled before the expiry job releases it (a caller may ask for less or more, up to a day).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ReservationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the expiry job looks for reservations past their time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ExpiryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Reservations the expiry job releases per transaction.</summary>
    [Range(1, 10_000)]
    public int ExpiryBatchSize { get; set; } = 200;

    /// <summary>
    /// Connections of the ledger's own pool at most. Callers beyond it wait for a connection (Npgsql's pool queue)
    /// rather than open more backends: PostgreSQL's max_connections is shared by every service and pool, and more
    /// backends than a few per core only queue on the CPUs. CreditsClient needs few (one per batch in flight).
    /// </summary>
    [Range(1, 1_000)]
    public int LedgerMaxPoolSize { get; set; } = 32;

    /// <summary>
    /// AuthService's internal look-ups, <c>users/{id}</c> and <c>api-keys/{id}</c> below this address (service discovery
    /// resolves <c>http://auth</c>); used to open accounts and to find the owners of capped API keys.
    /// </summary>
    [Required]
    public Uri AuthDirectoryUri { get; set; } = new("http://auth/internal/auth/");

    /// <summary>Timeout of one call to AuthService.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan AuthServiceTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
