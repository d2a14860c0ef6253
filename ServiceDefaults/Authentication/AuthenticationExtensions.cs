using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartHub.ServiceDefaults.Authentication;

namespace Microsoft.Extensions.Hosting;

public static class AuthenticationExtensions
{
    /// <summary>The application property by which <c>UseAuthentication()</c> tells WebApplication it is in the pipeline.</summary>
    internal const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    /// <summary>
    /// SmartHub's authentication, the same in every service and the gateway:
    /// <list type="bullet">
    /// <item>"SmartHub" (default): <c>Authorization: Bearer shk_…</c> and <c>X-API-Key</c> checked as "ApiKey" does, any
    /// other bearer token as "Bearer" does, in one handler.</item>
    /// <item>"Bearer": ES256 JWTs checked against AuthService's JWKS (<see cref="IJwksProvider"/>), then the user's
    /// revocation time in Redis.</item>
    /// <item>"ApiKey": in-process cache → Redis → AuthService's internal verify endpoint (<see cref="IApiKeyAuthority"/>),
    /// evicted by <c>auth:revocations</c> messages.</item>
    /// <item>Authorization with one policy per permission (<c>perm:users:manage</c> ...) and no fallback policy: endpoints
    /// opt in with <c>RequireAuthorization()</c>, health probes stay anonymous.</item>
    /// </list>
    /// Binds "Auth" (<see cref="SmartHubAuthenticationOptions"/>) and "Internal" (<see cref="InternalOptions"/>, required).
    /// Uses the registered <c>IRedisClient</c> when there is one (call <c>AddRedisClient</c> first or after — it is
    /// resolved lazily); without Redis, API keys go to AuthService directly and the revocation check is off.
    /// To replace <see cref="IJwksProvider"/> or <see cref="IApiKeyAuthority"/> (AuthService does), register yours first.
    /// Then <c>app.UseSmartHubAuthentication(); app.UseAuthorization();</c> after <c>MapDefaultEndpoints()</c>.
    /// </summary>
    public static TBuilder AddSmartHubAuthentication<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SmartHubAuthenticationOptions>()
            .BindConfiguration(SmartHubAuthenticationOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<InternalOptions>()
            .BindConfiguration(InternalOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton<IJwksProvider, HttpJwksProvider>();
        services.TryAddSingleton<IApiKeyAuthority, HttpApiKeyAuthority>();
        services.TryAddSingleton<SmartHubTokenValidator>();
        services.TryAddSingleton<RevocationCache>();
        services.TryAddSingleton<ApiKeyVerifier>();
        services.TryAddSingleton<InternalTokenVerifier>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RevocationListener>());
        services.AddHttpClient(HttpJwksProvider.HttpClientName);
        services.AddHttpClient(HttpApiKeyAuthority.HttpClientName);

        services.TryAddSingleton<JwtAuthenticator>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<SmartHubAuthenticator>();
        services.AddAuthentication(SmartHubAuth.Scheme)
            .AddScheme<SmartHubSchemeOptions, SmartHubAuthenticationHandler>(SmartHubAuth.Scheme, "SmartHub (JWT or API key)", null)
            .AddScheme<JwtBearerSchemeOptions, JwtBearerAuthenticationHandler>(SmartHubAuth.BearerScheme, "JWT access token", null)
            .AddScheme<ApiKeySchemeOptions, ApiKeyAuthenticationHandler>(SmartHubAuth.ApiKeyScheme, "API key", null);
        services.AddAuthorization(options => options.AddPermissionPolicies());

        return builder;
    }

    /// <summary>
    /// Authenticates every request with the default "SmartHub" scheme: <c>UseAuthentication()</c> for SmartHub, at a
    /// fraction of its cost per request (see <see cref="SmartHubAuthenticationMiddleware"/>).
    /// </summary>
    public static IApplicationBuilder UseSmartHubAuthentication(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // WebApplication adds UseAuthentication() at the start of the pipeline by itself when authentication is
        // registered and this key (which UseAuthentication() sets) is missing: requests would be authenticated twice,
        // and challenged before the edge middleware runs. This middleware takes its place.
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        return app.UseMiddleware<SmartHubAuthenticationMiddleware>();
    }
}
