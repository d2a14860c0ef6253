using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.AuthService.Signing;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

/// <summary><c>GET /auth/.well-known/jwks.json</c>: every public signing key not yet expired, for anonymous callers.</summary>
public static class JwksApi
{
    public static IEndpointRouteBuilder MapJwksApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/auth/.well-known/jwks.json", GetJwks)
            .WithTags("Keys")
            .WithName("GetJwks")
            .WithSummary("The public ES256 keys access tokens are signed with (JWKS): the active one, the next one, and retired ones until their tokens expire.");
        return app;
    }

    public static Results<ContentHttpResult, ProblemHttpResult> GetJwks(SigningKeyStore store, HttpContext httpContext)
    {
        var keys = store.PublishedKeys();
        if (keys.Count == 0)
        {
            return AuthProblems.Problem(StatusCodes.Status503ServiceUnavailable, AuthProblems.Unavailable, "No signing keys yet",
                "The signing keys are not loaded yet; retry in a moment.");
        }

        // Shorter than the 10 min the services keep keys: a key published now is seen well before it signs anything.
        httpContext.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Text(
            JsonSerializer.Serialize(new JsonWebKeySetDocument(keys), AuthJsonContext.Default.JsonWebKeySetDocument),
            "application/json");
    }
}
