using System.ComponentModel.DataAnnotations;

namespace SmartHub.Gateway.SecurityStatus;

/// <summary>Section <c>Gateway:SecurityStatus</c>: how <c>GET /api/v1/security/status</c> gathers its facts. Validated at start.</summary>
internal sealed class SecurityStatusOptions
{
    public const string SectionName = "Gateway:SecurityStatus";

    /// <summary>How far back CSP violations count against the score (24 h).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Gateway:SecurityStatus:ViolationWindow must be between 1 minute and 30 days.")]
    public TimeSpan ViolationWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Bound on the live request to the gateway itself and on the question to CoreService, each (2 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30", ErrorMessage = "Gateway:SecurityStatus:ProbeTimeout must be between 100 ms and 30 s.")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
