using Microsoft.Extensions.Options;
using SmartHub.CoreService.Credits;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

public sealed record ReserveRequest(Guid? UserId, Guid? ApiKeyId, long? Amount, string? RequestId, int? TimeoutSeconds);

public sealed record ReservationResponse(
    Guid ReservationId, string Status, Guid UserId, long Amount, DateTimeOffset ExpiresAt, long Balance, long Reserved, long Available, bool Replayed);

public sealed record CaptureRequest(Guid? ReservationId, long? ActualAmount);

public sealed record ReleaseRequest(Guid? ReservationId);

public sealed record SettlementResponse(Guid ReservationId, string Status, Guid UserId, long Amount, long? Charged, long Balance, long Reserved, long Available, bool Replayed);

/// <summary>
/// The ledger for McpServer: reserve before a call, capture (or release) after it. Under <c>/internal</c>, which the
/// gateway never routes, with <c>X-Internal-Token</c>. Each call is idempotent: replaying it answers the first result.
/// </summary>
public static class CreditsInternalApi
{
    public const string Actor = "service";
    public const int MaxTimeoutSeconds = 86_400;

    public static IEndpointRouteBuilder MapCreditsInternalApi(this IEndpointRouteBuilder app)
    {
        var credits = app.MapGroup("/internal/credits").WithTags("Internal").RequireInternalToken();

        credits.MapPost("/reserve", ReserveAsync)
            .WithName("ReserveCredits")
            .WithSummary("{userId, apiKeyId?, amount, requestId, timeoutSeconds?}: 201 held, 200 on a replay, 402 insufficient credits or monthly cap, 404 unknown user, 409 requestId reused.");

        credits.MapPost("/capture", CaptureAsync)
            .WithName("CaptureCredits")
            .WithSummary("{reservationId, actualAmount}: charges actualAmount (the rest of the hold returns); 200, 404, 409 when released or captured with another amount.");

        credits.MapPost("/release", ReleaseAsync)
            .WithName("ReleaseCredits")
            .WithSummary("{reservationId}: the whole hold returns; 200 (also when already released or expired), 404, 409 when captured.");

        credits.MapGet("/check", CheckAsync)
            .WithName("CheckLedger")
            .WithSummary("The ledger invariant over every account: balance = sum of entries, reserved = sum of held reservations.");

        return app;
    }

    public static async Task<IResult> ReserveAsync(
        HttpContext http, CreditLedger ledger, CreditAccounts accounts, IOptions<CreditsOptions> options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<ReserveRequest>(http.Request, "{userId, apiKeyId?, amount, requestId, timeoutSeconds?}", cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var errors = new Dictionary<string, string[]>();
        if (request!.UserId is null || request.UserId == Guid.Empty)
        {
            errors["userId"] = ["userId is required."];
        }

        if (request.ApiKeyId == Guid.Empty)
        {
            errors["apiKeyId"] = ["apiKeyId must be a key id or absent."];
        }

        if (request.Amount is not (> 0 and <= CreditsOptions.MaxAmount))
        {
            errors["amount"] = [$"amount is required: a whole number of credits from 1 to {CreditsOptions.MaxAmount}."];
        }

        if (!CreditsAdminApi.IsValidKey(request.RequestId))
        {
            errors["requestId"] = [$"requestId is required: 1 to {CreditsAdminApi.MaxIdempotencyKeyLength} printable ASCII characters, unique per call."];
        }

        if (request.TimeoutSeconds is < 1 or > MaxTimeoutSeconds)
        {
            errors["timeoutSeconds"] = [$"timeoutSeconds must be between 1 and {MaxTimeoutSeconds}."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var userId = request.UserId!.Value;
        var timeout = request.TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : options.Value.ReservationTimeout;
        var result = await ledger.ReserveAsync(userId, request.ApiKeyId, request.Amount!.Value, request.RequestId!, timeout, Actor, cancellationToken);
        if (result.Outcome == ReserveOutcome.NoAccount)
        {
            if (!await accounts.TryOpenAsync(userId, cancellationToken))
            {
                return CoreProblems.UnknownUserProblem(userId);
            }

            result = await ledger.ReserveAsync(userId, request.ApiKeyId, request.Amount.Value, request.RequestId!, timeout, Actor, cancellationToken);
        }

        var available = result.Balance - result.Reserved;
        return result.Outcome switch
        {
            ReserveOutcome.Reserved => TypedResults.Created(
                $"/internal/credits/reservations/{result.ReservationId}", Reservation(result, userId, replayed: false)),
            ReserveOutcome.Replayed => TypedResults.Ok(Reservation(result, userId, replayed: true)),
            ReserveOutcome.InsufficientCredits => CoreProblems.Problem(
                StatusCodes.Status402PaymentRequired, CoreProblems.InsufficientCredits, "Insufficient credits",
                $"This call needs {request.Amount} credits; {Math.Max(available, 0)} are available.",
                new Dictionary<string, object?> { ["requested"] = request.Amount, ["available"] = Math.Max(available, 0) }),
            ReserveOutcome.UserMonthlyCap or ReserveOutcome.KeyMonthlyCap => CoreProblems.Problem(
                StatusCodes.Status402PaymentRequired, CoreProblems.MonthlyCapExceeded, "Monthly spending cap reached",
                result.Cap is null
                    ? $"This call needs {request.Amount} credits, over the {(result.Outcome == ReserveOutcome.UserMonthlyCap ? "user's" : "API key's")} monthly cap."
                    : $"This call needs {request.Amount} credits; the {(result.Outcome == ReserveOutcome.UserMonthlyCap ? "user's" : "API key's")} monthly cap is {result.Cap} and {result.CapSpent} are spent or held this month.",
                new Dictionary<string, object?>
                {
                    ["requested"] = request.Amount,
                    ["scope"] = result.Outcome == ReserveOutcome.UserMonthlyCap ? "user" : "apiKey",
                    ["cap"] = result.Cap,
                    ["spent"] = result.CapSpent,
                }),
            ReserveOutcome.RequestConflict => CoreProblems.Problem(
                StatusCodes.Status409Conflict, CoreProblems.IdempotencyConflict, "requestId already used",
                "This requestId was used for a reservation with another user, key or amount; each call needs its own requestId."),
            _ => CoreProblems.UnknownUserProblem(userId),
        };
    }

    public static async Task<IResult> CaptureAsync(HttpContext http, CreditLedger ledger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<CaptureRequest>(http.Request, "{reservationId, actualAmount}", cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var errors = new Dictionary<string, string[]>();
        if (request!.ReservationId is null || request.ReservationId == Guid.Empty)
        {
            errors["reservationId"] = ["reservationId is required."];
        }

        if (request.ActualAmount is not (>= 0 and <= CreditsOptions.MaxAmount))
        {
            errors["actualAmount"] = [$"actualAmount is required: a whole number of credits from 0 to {CreditsOptions.MaxAmount}."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var result = await ledger.CaptureAsync(request.ReservationId!.Value, request.ActualAmount!.Value, Actor, cancellationToken);
        return Settlement(result, request.ReservationId.Value, result.Status == "captured"
            ? $"The reservation was captured already, for {result.Charged} credits."
            : $"The reservation is {result.Status}: it can no longer be captured.");
    }

    public static async Task<IResult> ReleaseAsync(HttpContext http, CreditLedger ledger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<ReleaseRequest>(http.Request, "{reservationId}", cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        if (request!.ReservationId is null || request.ReservationId == Guid.Empty)
        {
            return CoreProblems.Invalid("reservationId", "reservationId is required.");
        }

        var result = await ledger.ReleaseAsync(request.ReservationId.Value, Actor, cancellationToken);
        return Settlement(result, request.ReservationId.Value, $"The reservation is {result.Status}: it can no longer be released.");
    }

    public static async Task<IResult> CheckAsync(CreditLedger ledger, CancellationToken cancellationToken) =>
        TypedResults.Ok(await ledger.CheckAsync(cancellationToken));

    private static ReservationResponse Reservation(ReserveResult result, Guid userId, bool replayed) =>
        new(result.ReservationId, result.Status, userId, result.Amount, result.ExpiresAt, result.Balance, result.Reserved, result.Balance - result.Reserved, replayed);

    private static IResult Settlement(SettleResult result, Guid reservationId, string conflictDetail) => result.Outcome switch
    {
        SettleOutcome.Settled or SettleOutcome.Replayed => TypedResults.Ok(new SettlementResponse(
            reservationId, result.Status!, result.UserId, result.Amount, result.Charged, result.Balance, result.Reserved,
            result.Balance - result.Reserved, result.Outcome == SettleOutcome.Replayed)),
        SettleOutcome.NotFound => CoreProblems.Problem(
            StatusCodes.Status404NotFound, CoreProblems.NotFound, "Reservation not found", $"No reservation {reservationId}."),
        _ => CoreProblems.Problem(
            StatusCodes.Status409Conflict, CoreProblems.ReservationSettled, "Reservation already settled", conflictDetail,
            new Dictionary<string, object?> { ["status"] = result.Status }),
    };
}
