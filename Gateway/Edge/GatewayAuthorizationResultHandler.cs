using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Net.Http.Headers;
using SmartHub.Gateway.Proxy;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// Lets the authentication handlers challenge or forbid as usual (status, <c>WWW-Authenticate</c>), then gives a 401
/// or 403 that is still empty a body: ProblemDetails, or OpenAI's error under <c>/v1</c>.
/// </summary>
internal sealed class GatewayAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    /// <summary>Allowed requests go straight on (no async frame around the whole proxied request); refusals are written here.</summary>
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        return authorizeResult.Challenged || authorizeResult.Forbidden
            ? RefuseAsync(next, context, policy, authorizeResult)
            : next(context);
    }

    private async Task RefuseAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        await _default.HandleAsync(next, context, policy, authorizeResult);

        if (context.Response.HasStarted)
        {
            return;
        }

        switch (context.Response.StatusCode)
        {
            case StatusCodes.Status401Unauthorized:
                var sentCredentials = context.Request.Headers.ContainsKey(HeaderNames.Authorization)
                    || context.Request.Headers.ContainsKey("X-API-Key");
                await GatewayErrors.WriteAsync(
                    context,
                    StatusCodes.Status401Unauthorized,
                    GatewayErrors.TypeUnauthorized,
                    "Unauthorized",
                    sentCredentials
                        ? "The access token or API key is invalid, expired or revoked."
                        : "Authentication required: send 'Authorization: Bearer <access token or API key>' or 'X-API-Key: <API key>'.",
                    sentCredentials ? "invalid_api_key" : "missing_credentials");
                break;

            case StatusCodes.Status403Forbidden:
                var permission = context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()?.Permission;
                await GatewayErrors.WriteAsync(
                    context,
                    StatusCodes.Status403Forbidden,
                    GatewayErrors.TypeForbidden,
                    "Forbidden",
                    permission is null
                        ? "Your identity is not allowed to use this endpoint."
                        : $"This endpoint requires the permission '{permission}'.",
                    "insufficient_permissions");
                break;
        }
    }
}
