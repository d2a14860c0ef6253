namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>The security headers the gateway writes, as flags (which of them a configuration sends).</summary>
[Flags]
internal enum SecurityHeader
{
    None = 0,
    ContentSecurityPolicy = 1 << 0,
    StrictTransportSecurity = 1 << 1,
    XContentTypeOptions = 1 << 2,
    XFrameOptions = 1 << 3,
    ReferrerPolicy = 1 << 4,
    PermissionsPolicy = 1 << 5,
    CrossOriginOpenerPolicy = 1 << 6,
    CrossOriginResourcePolicy = 1 << 7,
    XDnsPrefetchControl = 1 << 8,
    XDownloadOptions = 1 << 9,
    XPermittedCrossDomainPolicies = 1 << 10,
    XXssProtection = 1 << 11,

    All = (1 << 12) - 1,
}

/// <summary>One header's switch: <c>Enabled</c> true or false, or unset for the default.</summary>
internal sealed class SecurityHeaderSwitch
{
    public bool? Enabled { get; set; }
}

/// <summary>
/// Section <c>Gateway:SecurityHeaders</c>: each security header can be turned off (or HSTS on in Development), e.g.
/// <c>Gateway__SecurityHeaders__XFrameOptions__Enabled=false</c>. A header turned off is neither set nor passed on: the
/// gateway removes a downstream's copy too, so what <c>GET /api/v1/security/status</c> reports is what clients get.
/// Unset means the default: every header on, except <c>Strict-Transport-Security</c> in Development (a browser that saw
/// it would refuse <c>http://localhost</c> for a year). Unknown keys (a misspelt header) stop the gateway at start.
/// </summary>
internal sealed class SecurityHeaderOptions
{
    public const string SectionName = "Gateway:SecurityHeaders";

    public SecurityHeaderSwitch ContentSecurityPolicy { get; set; } = new();
    public SecurityHeaderSwitch StrictTransportSecurity { get; set; } = new();
    public SecurityHeaderSwitch XContentTypeOptions { get; set; } = new();
    public SecurityHeaderSwitch XFrameOptions { get; set; } = new();
    public SecurityHeaderSwitch ReferrerPolicy { get; set; } = new();
    public SecurityHeaderSwitch PermissionsPolicy { get; set; } = new();
    public SecurityHeaderSwitch CrossOriginOpenerPolicy { get; set; } = new();
    public SecurityHeaderSwitch CrossOriginResourcePolicy { get; set; } = new();
    public SecurityHeaderSwitch XDnsPrefetchControl { get; set; } = new();
    public SecurityHeaderSwitch XDownloadOptions { get; set; } = new();
    public SecurityHeaderSwitch XPermittedCrossDomainPolicies { get; set; } = new();
    public SecurityHeaderSwitch XXssProtection { get; set; } = new();

    /// <summary>The headers to send: <paramref name="defaults"/> with each configured switch applied.</summary>
    public SecurityHeader Resolve(SecurityHeader defaults)
    {
        var sent = defaults;
        foreach (var (header, setting) in Switches())
        {
            sent = setting.Enabled switch
            {
                true => sent | header,
                false => sent & ~header,
                null => sent,
            };
        }

        return sent;
    }

    private IEnumerable<(SecurityHeader Header, SecurityHeaderSwitch Switch)> Switches() =>
    [
        (SecurityHeader.ContentSecurityPolicy, ContentSecurityPolicy),
        (SecurityHeader.StrictTransportSecurity, StrictTransportSecurity),
        (SecurityHeader.XContentTypeOptions, XContentTypeOptions),
        (SecurityHeader.XFrameOptions, XFrameOptions),
        (SecurityHeader.ReferrerPolicy, ReferrerPolicy),
        (SecurityHeader.PermissionsPolicy, PermissionsPolicy),
        (SecurityHeader.CrossOriginOpenerPolicy, CrossOriginOpenerPolicy),
        (SecurityHeader.CrossOriginResourcePolicy, CrossOriginResourcePolicy),
        (SecurityHeader.XDnsPrefetchControl, XDnsPrefetchControl),
        (SecurityHeader.XDownloadOptions, XDownloadOptions),
        (SecurityHeader.XPermittedCrossDomainPolicies, XPermittedCrossDomainPolicies),
        (SecurityHeader.XXssProtection, XXssProtection),
    ];
}
