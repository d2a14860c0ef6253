using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.CoreService.Credits;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

/// <summary>
/// {monthlyCap}: a whole number of credits, or null to remove the cap. The member must be there: a body that does not
/// name it is a 400, so a typo never clears a cap.
/// </summary>
public sealed class CapRequest
{
    private long? _monthlyCap;

    public long? MonthlyCap
    {
        get => _monthlyCap;
        set
        {
            _monthlyCap = value;
            HasMonthlyCap = true;
        }
    }

    /// <summary>Whether the body named monthlyCap (its null is a value: no cap).</summary>
    [JsonIgnore]
    public bool HasMonthlyCap { get; private set; }
}

/// <summary>A user's caps this UTC month (<c>month</c> as "yyyy-MM"): theirs and their API keys'.</summary>
public sealed record CapsResponse(Guid UserId, long? MonthlyCap, long MonthSpent, long Held, string Month, IReadOnlyList<KeyCap> ApiKeys)
{
    public static CapsResponse From(AccountCaps caps) => new(
        caps.UserId, caps.MonthlyCap, caps.MonthSpent, caps.Held, caps.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture), caps.ApiKeys);
}

/// <summary>
/// Monthly spending caps, enforced when credits are reserved (spent this month + held + requested ≤ cap). Any caller
/// reads their own; a signed-in user (not an API key, which could raise its own cap) caps their own API keys;
/// credits:grant sets any user's or key's cap.
/// </summary>
public static class CreditCapsApi
{
    private const string BodyShape = "{monthlyCap: number | null}";

    private static readonly string s_capRule =
        $"monthlyCap is required: a whole number of credits from 1 to {CreditsOptions.MaxAmount}, or null to remove the cap.";

    public static IEndpointRouteBuilder MapCreditCapsApi(this IEndpointRouteBuilder app)
    {
        var own = app.MapGroup("/api/v1/credits/caps").WithTags("Credits").RequireAuthorization();

        own.MapGet("", GetOwnCapsAsync)
            .WithName("GetCreditCaps")
            .WithSummary("The caller's monthly cap and their API keys' caps, each with this UTC month's spending and held credits.");

        own.MapPut("/api-keys/{apiKeyId:guid}", SetOwnKeyCapAsync)
            .WithName("SetOwnApiKeyCap")
            .WithSummary("{monthlyCap: number | null}: caps (or uncaps) one of the caller's API keys; needs a signed-in session, not an API key.");

        var admin = app.MapGroup("/api/v1/admin/credits/caps").WithTags("Credits administration").RequirePermission(Permissions.CreditsGrant);

        admin.MapGet("/users/{userId:guid}", GetUserCapsAsync)
            .WithName("GetUserCreditCaps")
            .WithSummary("A user's monthly cap and their API keys' caps, with this UTC month's spending and held credits.");

        admin.MapPut("/users/{userId:guid}", SetUserCapAsync)
            .WithName("SetUserCreditCap")
            .WithSummary("{monthlyCap: number | null}: sets or removes a user's monthly cap.");

        admin.MapPut("/api-keys/{apiKeyId:guid}", SetKeyCapAsync)
            .WithName("SetApiKeyCreditCap")
            .WithSummary("{monthlyCap: number | null}: sets or removes the monthly cap of any API key (on its owner's account).");

        return app;
    }

    public static async Task<Ok<CapsResponse>> GetOwnCapsAsync(ClaimsPrincipal principal, CreditLedger ledger, CancellationToken cancellationToken) =>
        TypedResults.Ok(CapsResponse.From(await ledger.GetCapsAsync(principal.UserId(), cancellationToken)));

    public static async Task<Results<Ok<CapsResponse>, ValidationProblem, ProblemHttpResult>> SetOwnKeyCapAsync(
        Guid apiKeyId, HttpContext http, ClaimsPrincipal principal, CreditCaps caps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (principal.IsApiKey())
        {
            return CoreProblems.Problem(
                StatusCodes.Status403Forbidden, CoreProblems.SessionRequired, "A signed-in session is required",
                "An API key cannot change spending caps (it could raise its own): sign in and call with the access token.");
        }

        return await ChangeAsync(http.Request, apiKeyId,
            cap => caps.SetKeyCapAsync(apiKeyId, requiredOwner: principal.UserId(), cap, Actor(principal), cancellationToken), cancellationToken);
    }

    public static async Task<Results<Ok<CapsResponse>, ProblemHttpResult>> GetUserCapsAsync(Guid userId, CreditCaps caps, CancellationToken cancellationToken) =>
        await caps.FindAsync(userId, cancellationToken) is { } found
            ? TypedResults.Ok(CapsResponse.From(found))
            : CoreProblems.UnknownUserProblem(userId);

    public static Task<Results<Ok<CapsResponse>, ValidationProblem, ProblemHttpResult>> SetUserCapAsync(
        Guid userId, HttpContext http, ClaimsPrincipal principal, CreditCaps caps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        return ChangeAsync(http.Request, userId, cap => caps.SetUserCapAsync(userId, cap, Actor(principal), cancellationToken), cancellationToken);
    }

    public static Task<Results<Ok<CapsResponse>, ValidationProblem, ProblemHttpResult>> SetKeyCapAsync(
        Guid apiKeyId, HttpContext http, ClaimsPrincipal principal, CreditCaps caps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        return ChangeAsync(http.Request, apiKeyId,
            cap => caps.SetKeyCapAsync(apiKeyId, requiredOwner: null, cap, Actor(principal), cancellationToken), cancellationToken);
    }

    /// <summary>Reads and checks {monthlyCap}, applies it with <paramref name="change"/> and answers the new state.</summary>
    /// <param name="id">The user or API key the request named.</param>
    private static async Task<Results<Ok<CapsResponse>, ValidationProblem, ProblemHttpResult>> ChangeAsync(
        HttpRequest request, Guid id, Func<long?, Task<CapChange>> change, CancellationToken cancellationToken)
    {
        var (body, invalid) = await JsonBody.ReadAsync<CapRequest>(request, BodyShape, cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        if (!body!.HasMonthlyCap || body.MonthlyCap is <= 0 or > CreditsOptions.MaxAmount)
        {
            return CoreProblems.Invalid("monthlyCap", s_capRule);
        }

        var result = await change(body.MonthlyCap);
        return result.Outcome switch
        {
            CapChangeOutcome.Applied => TypedResults.Ok(CapsResponse.From(result.Caps!)),
            CapChangeOutcome.UnknownUser => CoreProblems.UnknownUserProblem(id),
            CapChangeOutcome.RevokedApiKey => CoreProblems.Problem(
                StatusCodes.Status409Conflict, CoreProblems.ApiKeyRevoked, "API key revoked",
                $"API key {id} is revoked: it makes no more calls, so it takes no new cap (null still removes the one it had)."),
            _ => CoreProblems.Problem(StatusCodes.Status404NotFound, CoreProblems.UnknownApiKey, "Unknown API key", $"No API key {id}."),
        };
    }

    private static string Actor(ClaimsPrincipal principal) => "user:" + principal.UserId().ToString("D");
}
