using System.ComponentModel.DataAnnotations;

namespace SmartHub.CoreService.Security;

/// <summary>Section "Security": CSP violation reports, how they are accepted and how long they are kept. Validated at start.</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Security";

    /// <summary>Largest report body (64 KiB, as the gateway's <c>Gateway:MaxCspReportBodyBytes</c>); larger is a 413.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxReportBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Most violations one Reporting API body may carry; more is a 400.</summary>
    [Range(1, 1_000)]
    public int MaxReportsPerRequest { get; set; } = 100;

    /// <summary>Violations older than this are deleted.</summary>
    [Range(1, 3_650)]
    public int ViolationRetentionDays { get; set; } = 30;

    /// <summary>At most this many violations are kept, the newest; older ones are deleted even within the retention days.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxStoredViolations { get; set; } = 100_000;

    /// <summary>How often the retention job runs.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(5);
}
