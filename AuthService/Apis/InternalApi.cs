using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.AuthService.ApiKeys;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

/// <summary>What other services may know of a user.</summary>
public sealed record InternalUser(Guid Id, string Email, bool Disabled);

/// <summary>
/// Service-to-service endpoints under <c>/internal</c> (the gateway routes only <c>/auth/**</c> here), each requiring
/// <c>X-Internal-Token</c>.
/// </summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        var internalApi = app.MapGroup("/internal/auth").WithTags("Internal").RequireInternalToken();

        internalApi.MapPost("/api-keys/verify", VerifyApiKeyAsync)
            .WithName("VerifyApiKey")
            .WithSummary("Gateways/services: the identity of an API key missing from Redis (200), or 404. Also caches it in Redis.");

        internalApi.MapGet("/users/{id:guid}", GetUserAsync)
            .WithName("GetInternalUser")
            .WithSummary("Services: whether a user exists (200 {id, email, disabled}) or not (404). CoreService opens credit accounts with it.");

        internalApi.MapGet("/api-keys/{id:guid}", GetApiKeyOwnerAsync)
            .WithName("GetInternalApiKey")
            .WithSummary("Services: the owner of an API key (200 {id, userId, revoked}) or 404. CoreService checks key caps' owners with it.");

        return app;
    }

    public static async Task<Results<Ok<InternalUser>, NotFound>> GetUserAsync(Guid id, UserStore users, CancellationToken cancellationToken)
    {
        var user = await users.FindByIdAsync(id, cancellationToken);
        return user is null ? TypedResults.NotFound() : TypedResults.Ok(new InternalUser(user.Id, user.Email, user.IsDisabled));
    }

    public static async Task<Results<Ok<ApiKeyOwner>, NotFound>> GetApiKeyOwnerAsync(Guid id, ApiKeyStore store, CancellationToken cancellationToken) =>
        await store.FindOwnerAsync(id, cancellationToken) is { } owner ? TypedResults.Ok(owner) : TypedResults.NotFound();

    /// <summary>Reads its body itself, after the internal-token filter: strangers' bodies are never parsed.</summary>
    public static async Task<Results<ContentHttpResult, NotFound, ValidationProblem>> VerifyApiKeyAsync(
        HttpContext httpContext, ApiKeyStore store, CancellationToken cancellationToken)
    {
        ApiKeyVerifyRequest? request;
        try
        {
            request = await httpContext.Request.ReadFromJsonAsync(AuthJsonContext.Default.ApiKeyVerifyRequest, cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return AuthProblems.Invalid("body", "A JSON body {key} is required.");
        }

        if (string.IsNullOrEmpty(request?.Key))
        {
            return AuthProblems.Invalid("key", "The key is required.");
        }

        var identity = await store.VerifyAsync(request.Key, cancellationToken);
        return identity is null
            ? TypedResults.NotFound()
            : TypedResults.Text(JsonSerializer.Serialize(identity, AuthJsonContext.Default.ApiKeyIdentity), "application/json");
    }
}
