using Microsoft.Extensions.Primitives;

namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>
/// The security headers on every gateway response, computed once per environment (only the CSP nonce changes per
/// request). Values follow the OWASP Secure Headers project.
/// </summary>
internal sealed class SecurityHeaderValues
{
    public const string CspReportPath = "/api/v1/security/csp-report";

    public static readonly StringValues NoSniff = "nosniff";
    public static readonly StringValues Deny = "DENY";
    public static readonly StringValues ReferrerPolicy = "strict-origin-when-cross-origin";
    public static readonly StringValues Off = "off";
    public static readonly StringValues NoOpen = "noopen";
    public static readonly StringValues None = "none";

    /// <summary>
    /// <c>X-XSS-Protection: 0</c>. The legacy XSS auditor is gone from current browsers, and where it still exists it
    /// can be abused to selectively disable scripts or leak data (it created XSS holes rather than closing them).
    /// OWASP therefore recommends not enabling it: "0" turns it off explicitly; the CSP is the real protection.
    /// </summary>
    public static readonly StringValues XssProtection = "0";

    /// <summary>Every powerful browser feature off; an API never needs any of them.</summary>
    public static readonly StringValues PermissionsPolicy =
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), "
        + "gyroscope=(), hid=(), idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), "
        + "picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), "
        + "xr-spatial-tracking=(), browsing-topics=(), interest-cohort=()";

    public static readonly StringValues CrossOriginOpenerPolicy = "same-origin";
    public static readonly StringValues CrossOriginResourcePolicy = "same-origin";

    /// <summary>Two years would be the preload list's recommendation; one year is its minimum and the choice.</summary>
    public static readonly StringValues StrictTransportSecurity = "max-age=31536000; includeSubDomains; preload";

    private const string NoncePlaceholder = "{nonce}";

    // The CSP template split at its nonce placeholders: string.Join(nonce, parts) builds it in one allocation.
    private readonly string[] _cspParts;

    private SecurityHeaderValues(bool development, string cspTemplate, SecurityHeader sent)
    {
        IsDevelopment = development;
        CspTemplate = cspTemplate;
        Sent = sent;
        _cspParts = cspTemplate.Split(NoncePlaceholder);
    }

    /// <summary>Development: HSTS off (local http), a relaxed CSP. Any other environment: strict.</summary>
    public bool IsDevelopment { get; }

    /// <summary>The headers written (<see cref="SecurityHeaderOptions"/>); the others are removed from every response.</summary>
    public SecurityHeader Sent { get; }

    /// <summary>By default outside Development only: a browser that saw it would refuse http://localhost for a year.</summary>
    public bool SendStrictTransportSecurity => Sends(SecurityHeader.StrictTransportSecurity);

    public bool Sends(SecurityHeader header) => (Sent & header) == header;

    /// <summary>The Content-Security-Policy with <c>{nonce}</c> where the request's nonce goes.</summary>
    public string CspTemplate { get; }

    /// <summary>
    /// Production (and any environment but Development): nothing may load unless listed; scripts and styles only from
    /// this origin or inline with the request's nonce; no plugins, no &lt;base&gt;, no framing, forms post only here;
    /// violations are reported to CoreService.
    /// </summary>
    public static SecurityHeaderValues Production { get; } = new(
        development: false,
        "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
            + "font-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
            + "frame-ancestors 'none'; form-action 'self'; report-uri " + CspReportPath,
        SecurityHeader.All);

    /// <summary>
    /// Development: same-origin by default, inline styles allowed (browser dev tools and error pages use them; a nonce
    /// would make browsers ignore 'unsafe-inline', so style-src has none), images from data:/blob:, connections to
    /// local dev servers and their hot-reload websockets. Scripts still need 'self' or the nonce (no 'unsafe-inline',
    /// no 'unsafe-eval'); no plugins, no framing.
    /// </summary>
    public static SecurityHeaderValues Development { get; } = new(
        development: true,
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            + "font-src 'self' data:; "
            + "connect-src 'self' http://localhost:* http://127.0.0.1:* ws://localhost:* ws://127.0.0.1:* wss://localhost:*; "
            + "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'; report-uri " + CspReportPath,
        SecurityHeader.All & ~SecurityHeader.StrictTransportSecurity);

    public static SecurityHeaderValues For(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return environment.IsDevelopment() ? Development : Production;
    }

    /// <summary>The environment's values with the headers <paramref name="options"/> turns on or off.</summary>
    public static SecurityHeaderValues For(IHostEnvironment environment, SecurityHeaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var values = For(environment);
        var sent = options.Resolve(values.Sent);
        return sent == values.Sent ? values : new SecurityHeaderValues(values.IsDevelopment, values.CspTemplate, sent);
    }

    public string ContentSecurityPolicy(string nonce) => string.Join(nonce, _cspParts);
}
