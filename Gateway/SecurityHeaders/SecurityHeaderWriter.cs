using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

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

        // A header turned off (Gateway:SecurityHeaders) is removed: a downstream's copy does not pass either.
        var sent = values.Sent;
        headers.XContentTypeOptions = On(sent, SecurityHeader.XContentTypeOptions, SecurityHeaderValues.NoSniff);
        headers.XFrameOptions = On(sent, SecurityHeader.XFrameOptions, SecurityHeaderValues.Deny);
        Set(headers, "Referrer-Policy", On(sent, SecurityHeader.ReferrerPolicy, SecurityHeaderValues.ReferrerPolicy));
        Set(headers, "X-DNS-Prefetch-Control", On(sent, SecurityHeader.XDnsPrefetchControl, SecurityHeaderValues.Off));
        Set(headers, "X-Download-Options", On(sent, SecurityHeader.XDownloadOptions, SecurityHeaderValues.NoOpen));
        Set(headers, "X-Permitted-Cross-Domain-Policies", On(sent, SecurityHeader.XPermittedCrossDomainPolicies, SecurityHeaderValues.None));
        headers.XXSSProtection = On(sent, SecurityHeader.XXssProtection, SecurityHeaderValues.XssProtection);
        Set(headers, "Permissions-Policy", On(sent, SecurityHeader.PermissionsPolicy, SecurityHeaderValues.PermissionsPolicy));
        Set(headers, "Cross-Origin-Opener-Policy", On(sent, SecurityHeader.CrossOriginOpenerPolicy, SecurityHeaderValues.CrossOriginOpenerPolicy));
        Set(headers, "Cross-Origin-Resource-Policy", On(sent, SecurityHeader.CrossOriginResourcePolicy, SecurityHeaderValues.CrossOriginResourcePolicy));
        headers.ContentSecurityPolicy = (sent & SecurityHeader.ContentSecurityPolicy) != 0 ? values.ContentSecurityPolicy(nonce) : default;
        headers.ContentSecurityPolicyReportOnly = default;
        headers.StrictTransportSecurity = On(sent, SecurityHeader.StrictTransportSecurity, SecurityHeaderValues.StrictTransportSecurity);
    }

    private static StringValues On(SecurityHeader sent, SecurityHeader header, StringValues value) =>
        (sent & header) != 0 ? value : default;

    private static void Set(IHeaderDictionary headers, string name, StringValues value)
    {
        if (value.Count > 0)
        {
            headers[name] = value;
        }
        else
        {
            headers.Remove(name);
        }
    }
}

internal static class SecurityHeadersExtensions
{
    public static WebApplicationBuilder AddSecurityHeaders(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SecurityHeaderOptions>()
            .BindConfiguration(SecurityHeaderOptions.SectionName, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        var environment = builder.Environment;
        builder.Services.AddSingleton(services =>
            SecurityHeaderValues.For(environment, services.GetRequiredService<IOptions<SecurityHeaderOptions>>().Value));

        // No "Server: Kestrel" (the middleware also removes one a downstream service sends).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }
}
