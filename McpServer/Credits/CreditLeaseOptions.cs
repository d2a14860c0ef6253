using System.ComponentModel.DataAnnotations;

namespace SmartHub.McpServer.Credits;

/// <summary>Section <c>Credits:Leases</c>: how McpServer holds credits for many requests of a user at once.</summary>
public sealed class CreditLeaseOptions
{
    public const string SectionName = "Credits:Leases";

    /// <summary>False: one reservation per request (two ledger transactions per request).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A lease holds this many times the hold of the request that opened it (less when the balance is low).</summary>
    [Range(2, 100_000)]
    public int Factor { get; set; } = 64;

    /// <summary>A lease takes new requests for this long after it opened; it is settled once they are done.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A lease nothing has used for this long (and with nothing in flight) is settled before its age is up.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan IdleTime { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often leases are looked over for settling.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>After a lease was refused (low balance, a cap), the user's requests reserve one by one for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RefusalBackoff { get; set; } = TimeSpan.FromSeconds(5);
}
