
namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>
/// The security headers: on every response, the gateway's own (health, 401, 404, 413, 429, 5xx) and proxied ones,
/// overwriting whatever a downstream service sent; <c>Server</c> and <c>X-Powered-By</c> removed. Applied by
/// <see cref="Edge.EdgeResponse"/> when the response starts.
/// </summary>
internal static class SecurityHeaderWriter
{
    public static void Apply(IHeaderDictionary headers, SecurityHeaderValues values, string nonce)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(values);

        headers.Server = default;
        headers.XPoweredBy = default;

        headers.XContentTypeOptions = SecurityHeaderValues.NoSniff;
        headers.XFrameOptions = SecurityHeaderValues.Deny;
        headers["Referrer-Policy"] = SecurityHeaderValues.ReferrerPolicy;
        headers["X-DNS-Prefetch-Control"] = SecurityHeaderValues.Off;
        headers["X-Download-Options"] = SecurityHeaderValues.NoOpen;
        headers["X-Permitted-Cross-Domain-Policies"] = SecurityHeaderValues.None;
        headers.XXSSProtection = SecurityHeaderValues.XssProtection;
        headers["Permissions-Policy"] = SecurityHeaderValues.PermissionsPolicy;
        headers["Cross-Origin-Opener-Policy"] = SecurityHeaderValues.CrossOriginOpenerPolicy;
        headers["Cross-Origin-Resource-Policy"] = SecurityHeaderValues.CrossOriginResourcePolicy;
        headers.ContentSecurityPolicy = values.ContentSecurityPolicy(nonce);
        headers.ContentSecurityPolicyReportOnly = default;
        headers.StrictTransportSecurity = values.SendStrictTransportSecurity ? SecurityHeaderValues.StrictTransportSecurity : default;
    }
}

internal static class SecurityHeadersExtensions
{
    public static WebApplicationBuilder AddSecurityHeaders(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(SecurityHeaderValues.For(builder.Environment));

        // No "Server: Kestrel" (the middleware also removes one a downstream service sends).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }
}
