
namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>
/// Puts the security headers on every response: the gateway's own (health, 401, 404, 413, 429, 5xx) and proxied ones,
/// overwriting whatever a downstream service sent, and removes <c>Server</c> / <c>X-Powered-By</c>. Written when the
/// response starts, so the exception handler (which clears headers) cannot lose them.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next, SecurityHeaderValues values)
{
    private static readonly Func<object, Task> s_apply = static state =>
    {
        var (context, values, nonce) = (State)state;
        Apply(context.Response.Headers, values, nonce);
        return Task.CompletedTask;
    };

    public Task InvokeAsync(HttpContext context)
    {
        var nonce = CspNonce.Create();
        context.Items[CspNonce.ItemKey] = nonce;
        context.Response.OnStarting(s_apply, new State(context, values, nonce));
        return next(context);
    }

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

    private sealed record State(HttpContext Context, SecurityHeaderValues Values, string Nonce);
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

    /// <summary>First in the pipeline, so that every response, errors included, carries the headers.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.UseMiddleware<SecurityHeadersMiddleware>();
}
