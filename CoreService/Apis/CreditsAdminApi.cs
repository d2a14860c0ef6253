using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.CoreService.Credits;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

/// <summary>A grant (amount &gt; 0) or an adjustment (amount ≠ 0, negative takes credits back).</summary>
public sealed record GrantRequest(Guid? UserId, long? Amount, string? Reason, string? IdempotencyKey);

public sealed record GrantResponse(long EntryId, Guid UserId, string Kind, long Amount, long Balance, long Reserved, long Available, DateTimeOffset CreatedAt, bool Replayed);

/// <summary>Credits administration (permission credits:grant): grants and adjustments, idempotent by the caller's key.</summary>
public static class CreditsAdminApi
{
    public const int MaxReasonLength = 500;
    public const int MaxIdempotencyKeyLength = 200;

    public static IEndpointRouteBuilder MapCreditsAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin/credits").WithTags("Credits administration").RequirePermission(Permissions.CreditsGrant);

        admin.MapPost("/grants", (HttpContext http, ClaimsPrincipal principal, CreditLedger ledger, CreditAccounts accounts, CancellationToken ct) =>
                ApplyAsync(adjustment: false, http, principal, ledger, accounts, ct))
            .WithName("GrantCredits")
            .WithSummary("Grant credits {userId, amount > 0, reason, idempotencyKey}: 201; the same key again answers 200 with the first result.");

        admin.MapPost("/adjustments", (HttpContext http, ClaimsPrincipal principal, CreditLedger ledger, CreditAccounts accounts, CancellationToken ct) =>
                ApplyAsync(adjustment: true, http, principal, ledger, accounts, ct))
            .WithName("AdjustCredits")
            .WithSummary("Correct a balance {userId, amount ≠ 0, reason, idempotencyKey}; a negative amount takes at most the available credits.");

        return app;
    }

    public static async Task<IResult> ApplyAsync(
        bool adjustment, HttpContext http, ClaimsPrincipal principal, CreditLedger ledger, CreditAccounts accounts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<GrantRequest>(http.Request, "{userId, amount, reason, idempotencyKey}", cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var errors = Validate(request!, adjustment);
        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var userId = request!.UserId!.Value;
        var amount = request.Amount!.Value;
        var actor = "user:" + principal.UserId().ToString("D");
        var result = await ledger.GrantAsync(userId, adjustment, amount, request.IdempotencyKey!, actor, request.Reason!.Trim(), cancellationToken);
        if (result.Outcome == GrantOutcome.NoAccount)
        {
            if (!await accounts.TryOpenAsync(userId, cancellationToken))
            {
                return CoreProblems.UnknownUserProblem(userId);
            }

            result = await ledger.GrantAsync(userId, adjustment, amount, request.IdempotencyKey!, actor, request.Reason!.Trim(), cancellationToken);
        }

        var kind = adjustment ? "adjustment" : "grant";
        var response = new GrantResponse(
            result.EntryId, userId, kind, result.Amount, result.Balance, result.Reserved, result.Balance - result.Reserved, result.CreatedAt,
            Replayed: result.Outcome == GrantOutcome.Replayed);
        return result.Outcome switch
        {
            GrantOutcome.Applied => TypedResults.Created("/api/v1/credits/transactions", response),
            GrantOutcome.Replayed => TypedResults.Ok(response),
            GrantOutcome.KeyConflict => CoreProblems.Problem(
                StatusCodes.Status409Conflict, CoreProblems.IdempotencyConflict, "Idempotency key already used",
                $"The idempotency key was used for a different {kind} (another user or amount); use a new key for a new {kind}."),
            GrantOutcome.InsufficientCredits => CoreProblems.Problem(
                StatusCodes.Status409Conflict, CoreProblems.InsufficientCredits, "Not enough available credits",
                $"The adjustment would take {-amount} credits but only {result.Balance - result.Reserved} are available (the rest is held by open reservations).",
                new Dictionary<string, object?> { ["available"] = result.Balance - result.Reserved }),
            _ => CoreProblems.UnknownUserProblem(userId),
        };
    }

    private static Dictionary<string, string[]> Validate(GrantRequest request, bool adjustment)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.UserId is null || request.UserId == Guid.Empty)
        {
            errors["userId"] = ["userId is required."];
        }

        if (request.Amount is not { } amount)
        {
            errors["amount"] = ["amount is required."];
        }
        else if (adjustment ? amount == 0 || Math.Abs(amount) > CreditsOptions.MaxAmount : amount is <= 0 or > CreditsOptions.MaxAmount)
        {
            errors["amount"] = [adjustment
                ? $"amount must be a non-zero whole number of credits between -{CreditsOptions.MaxAmount} and {CreditsOptions.MaxAmount}."
                : $"amount must be a whole number of credits from 1 to {CreditsOptions.MaxAmount}."];
        }

        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > MaxReasonLength)
        {
            errors["reason"] = [$"reason is required (at most {MaxReasonLength} characters)."];
        }

        if (!IsValidKey(request.IdempotencyKey))
        {
            errors["idempotencyKey"] = [$"idempotencyKey is required: 1 to {MaxIdempotencyKeyLength} printable ASCII characters."];
        }

        return errors;
    }

    internal static bool IsValidKey(string? key) =>
        !string.IsNullOrEmpty(key) && key.Length <= MaxIdempotencyKeyLength && key.All(c => c is >= '!' and <= '~');
}
