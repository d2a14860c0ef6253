using System.Security.Claims;
using System.Text.Json.Serialization;

namespace SmartHub.CoreService.Apis;

/// <summary>
/// `GET /api/v1/whoami`: the caller's identity as the hub sees it (user, how they authenticated, which key, what they
/// may do). Reads only the validated claims: no database work, so it is also the gateway benchmark's target.
/// </summary>
public static class WhoAmIApi
{
    public static IEndpointRouteBuilder MapWhoAmIApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/whoami", GetWhoAmI)
            .RequireAuthorization()
            .WithTags("Identity")
            .WithName("GetWhoAmI")
            .WithSummary("The authenticated caller: user id, email, authentication method, API key id, roles and permissions.");
        return app;
    }

    public static WhoAmI GetWhoAmI(ClaimsPrincipal user) => new(
        user.FindFirstValue("sub") ?? string.Empty,
        user.FindFirstValue("email"),
        user.FindFirstValue("amr") ?? "unknown",
        user.FindFirstValue("api_key_id"),
        [.. user.FindAll("role").Select(c => c.Value)],
        [.. user.FindAll("permission").Select(c => c.Value)]);
}

public sealed record WhoAmI(
    string UserId,
    string? Email,
    string AuthenticationMethod,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ApiKeyId,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions);
