using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.AuthService.ApiKeys;
using SmartHub.AuthService.Audit;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt, int? RateLimitPerSecond);

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeySummary> Items);

/// <summary>
/// The caller's API keys. Signed-in users (JWT) manage their own keys; a request authenticated by an API key may do so
/// only if that key has the keys:manage scope (policy <see cref="SelfServicePolicy"/>). keys:manage also allows
/// listing and revoking anyone's keys.
/// </summary>
public static class ApiKeysApi
{
    public const string SelfServicePolicy = "api-keys:self-service";
    public const int MaxNameLength = 100;
    public const int MaxRateLimitPerSecond = 100_000;

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/auth/api-keys").WithTags("API keys").RequireAuthorization(SelfServicePolicy);

        keys.MapPost("/", CreateAsync)
            .WithName("CreateApiKey")
            .WithSummary("Create an API key (shk_…), shown once. Scopes default to [chat:use] and must be permissions you have.");

        keys.MapGet("/", ListAsync)
            .WithName("ListApiKeys")
            .WithSummary("Your live API keys: prefix, name, scopes, created, last used, expiry. ?userId= needs keys:manage.");

        keys.MapDelete("/{id:guid}", RevokeAsync)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key (yours, or anyone's with keys:manage). Stops working everywhere within 2 s.");

        return app;
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateApiKeyRequest? request,
        ClaimsPrincipal principal,
        ApiKeyStore store,
        TimeProvider timeProvider,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return AuthProblems.Invalid("body", "A JSON body {name, scopes?, expiresAt?, rateLimitPerSecond?} is required.");
        }

        var errors = new Dictionary<string, string[]>();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            errors["name"] = [$"A name of 1 to {MaxNameLength} characters is required."];
        }

        if (request.Scopes is { Count: > ScopePolicy.MaxScopes })
        {
            errors["scopes"] = [$"At most {ScopePolicy.MaxScopes} scopes."];
        }

        if (request.ExpiresAt is { } expiresAt && expiresAt <= timeProvider.GetUtcNow())
        {
            errors["expiresAt"] = ["The expiry must be in the future."];
        }

        if (request.RateLimitPerSecond is < 1 or > MaxRateLimitPerSecond)
        {
            errors["rateLimitPerSecond"] = [$"Between 1 and {MaxRateLimitPerSecond}."];
        }

        if (errors.Count > 0)
        {
            return AuthProblems.Invalid(errors);
        }

        var userId = principal.UserId();
        var result = await store.CreateAsync(
            userId,
            name!,
            request.Scopes,
            request.ExpiresAt,
            request.RateLimitPerSecond,
            principal.IsApiKey() ? principal.Permissions() : null,
            AuditContext.From(httpContext, userId),
            cancellationToken);

        return result.Status switch
        {
            CreateApiKeyStatus.Created => TypedResults.Created($"/auth/api-keys/{result.Key!.Id}", result.Key),
            CreateApiKeyStatus.InvalidScopes => AuthProblems.Problem(
                StatusCodes.Status400BadRequest, AuthProblems.InvalidScope, "Invalid scopes",
                DescribeScopes(result.Scopes!),
                new Dictionary<string, object?> { ["unknownScopes"] = result.Scopes!.Unknown, ["notGrantedScopes"] = result.Scopes.NotGranted }),
            CreateApiKeyStatus.TooManyKeys => AuthProblems.Problem(
                StatusCodes.Status409Conflict, AuthProblems.TooManyKeys, "Too many API keys",
                $"You have {ApiKeyStore.MaxKeysPerUser} live API keys; revoke one first."),
            _ => AuthProblems.UserNotFound(userId),
        };
    }

    public static async Task<Results<Ok<ApiKeyListResponse>, ProblemHttpResult>> ListAsync(
        Guid? userId,
        ClaimsPrincipal principal,
        ApiKeyStore store,
        CancellationToken cancellationToken)
    {
        var self = principal.UserId();
        var owner = userId ?? self;
        if (owner != self && !principal.HasPermission(Permissions.KeysManage))
        {
            return AuthProblems.Problem(StatusCodes.Status403Forbidden, SmartHubProblemTypes.Forbidden, "Forbidden",
                "Listing another user's keys needs the keys:manage permission.");
        }

        return TypedResults.Ok(new ApiKeyListResponse(await store.ListAsync(owner, cancellationToken)));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        Guid id,
        ClaimsPrincipal principal,
        ApiKeyStore store,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var status = await store.RevokeAsync(
            id, userId, principal.HasPermission(Permissions.KeysManage), AuditContext.From(httpContext, userId), cancellationToken);
        return status == RevokeApiKeyStatus.NotFound
            ? AuthProblems.Problem(StatusCodes.Status404NotFound, AuthProblems.NotFound, "API key not found", $"No API key {id} of yours.")
            : TypedResults.NoContent();
    }

    private static string DescribeScopes(ScopeValidation validation)
    {
        var parts = new List<string>();
        if (validation.Unknown.Count > 0)
        {
            parts.Add($"unknown scopes: {string.Join(", ", validation.Unknown)} (scopes are permissions: {string.Join(", ", Permissions.All)})");
        }

        if (validation.NotGranted.Count > 0)
        {
            parts.Add($"scopes you do not have: {string.Join(", ", validation.NotGranted)}");
        }

        return string.Join("; ", parts) + ".";
    }
}
