using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// The default "SmartHub" scheme's check: an API key (<c>Authorization: Bearer shk_…</c>, or <c>X-API-Key</c> when
/// Authorization carries no bearer token), else a JWT. Used by <see cref="SmartHubAuthenticationHandler"/> and, once
/// per request, by <see cref="SmartHubAuthenticationMiddleware"/>.
/// </summary>
public sealed class SmartHubAuthenticator(JwtAuthenticator jwt, ApiKeyAuthenticator apiKeys)
{
    public Task<AuthenticateResult> AuthenticateAsync(HttpContext context) =>
        CredentialReader.SelectScheme(context) == SmartHubAuth.ApiKeyScheme
            ? apiKeys.AuthenticateAsync(context)
            : jwt.AuthenticateAsync(context, SmartHubAuth.BearerScheme);
}

/// <summary>
/// <c>UseSmartHubAuthentication()</c>: what <c>UseAuthentication()</c> does for SmartHub's default scheme, without its
/// per-request machinery. The result lands where ASP.NET Core's own middleware puts it (<c>HttpContext.User</c>,
/// <see cref="IAuthenticateResultFeature"/>, <see cref="IHttpAuthenticationFeature"/>), so authorization, endpoint
/// filters and <c>[Authorize]</c> work unchanged, and challenges and forbids still go through the registered scheme
/// handlers (their 401/403 bodies). <c>UseAuthentication()</c> resolves the authentication service and a new scheme
/// handler per request, initializes it from the options monitor, and wraps every success in a new ticket and result
/// after a claims-transformation pass; measured at the gateway, that was two thirds of the cost of authentication.
/// </summary>
/// <remarks>
/// Not supported here, because SmartHub has none: remote-authentication callbacks (<c>IAuthenticationRequestHandler</c>
/// schemes such as OpenID Connect). A registered <see cref="IClaimsTransformation"/> other than the default no-op is
/// applied as <c>UseAuthentication()</c> would.
/// </remarks>
internal sealed class SmartHubAuthenticationMiddleware(RequestDelegate next, SmartHubAuthenticator authenticator, IClaimsTransformation transformation)
{
    private readonly bool _transform = transformation is not NoopClaimsTransformation;

    public Task InvokeAsync(HttpContext context)
    {
        var pending = authenticator.AuthenticateAsync(context);
        if (pending.IsCompletedSuccessfully && !_transform)
        {
            Apply(context, pending.Result);
            return next(context); // the common case (cached key or token): no async frame around the request
        }

        return AuthenticateAndContinueAsync(context, pending);
    }

    private async Task AuthenticateAndContinueAsync(HttpContext context, Task<AuthenticateResult> pending)
    {
        var result = await pending;
        if (_transform && result is { Succeeded: true, Ticket: { } ticket })
        {
            var principal = await transformation.TransformAsync(ticket.Principal);
            result = AuthenticateResult.Success(new AuthenticationTicket(principal, ticket.Properties, ticket.AuthenticationScheme));
        }

        Apply(context, result);
        await next(context);
    }

    // As AuthenticationMiddleware: User first (setting it through the default feature), then, on success, the features
    // that keep the result for the policy evaluator. In the other order, setting User would clear the kept result.
    private static void Apply(HttpContext context, AuthenticateResult result)
    {
        if (result.Principal is { } principal)
        {
            context.User = principal;
        }

        if (result.Succeeded)
        {
            var features = new AuthenticationResultFeatures(result);
            context.Features.Set<IHttpAuthenticationFeature>(features);
            context.Features.Set<IAuthenticateResultFeature>(features);
        }
    }

    /// <summary>As ASP.NET Core's own (internal) AuthenticationFeatures: setting User clears the cached result.</summary>
    private sealed class AuthenticationResultFeatures(AuthenticateResult result) : IAuthenticateResultFeature, IHttpAuthenticationFeature
    {
        private AuthenticateResult? _result = result;
        private ClaimsPrincipal? _user = result.Principal;

        public AuthenticateResult? AuthenticateResult
        {
            get => _result;
            set
            {
                _result = value;
                _user = value?.Principal;
            }
        }

        public ClaimsPrincipal? User
        {
            get => _user;
            set
            {
                _user = value;
                _result = null;
            }
        }
    }
}
