using System.ComponentModel.DataAnnotations;

namespace SmartHub.Gateway.Edge;

/// <summary>Edge settings, section <c>Gateway</c> (env <c>Gateway__MaxRequestBodyBytes</c>, ...). Validated at start.</summary>
internal sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Largest request body on <c>/auth</c>, <c>/api</c> and anything not routed to the chat surface (1 MiB).</summary>
    [Range(1, 1L << 30, ErrorMessage = "Gateway:MaxRequestBodyBytes must be between 1 and 1073741824 (1 GiB).")]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest request body on <c>/v1</c> and <c>/mcp</c> (8 MiB): chat prompts can be big.</summary>
    [Range(1, 1L << 30, ErrorMessage = "Gateway:MaxChatRequestBodyBytes must be between 1 and 1073741824 (1 GiB).")]
    public long MaxChatRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Largest CSP violation report on <c>POST /api/v1/security/csp-report</c> (64 KiB): anyone may send one, and a
    /// browser's report is a few KiB at most (CoreService enforces the same bound on its own).
    /// </summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Gateway:MaxCspReportBodyBytes must be between 1024 and 1048576 (1 MiB).")]
    public long MaxCspReportBodyBytes { get; set; } = 64 * 1024;
}
