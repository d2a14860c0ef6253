using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.CoreService.Credits;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Apis;

/// <summary>
/// The ledger for McpServer: reserve before a call, capture (or release) after it. Under <c>/internal</c>, which the
/// gateway never routes, with <c>X-Internal-Token</c>. Each call is idempotent: replaying it answers the first result.
/// <c>/batch</c> carries the operations of several callers in one request and one database transaction (what
/// <see cref="CreditsClient"/> sends when calls overlap); each operation is answered as its single endpoint would.
/// The wire contract is shared with the client (ServiceDefaults/Credits/CreditsContracts.cs).
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

        credits.MapPost("/batch", BatchAsync)
            .WithName("CreditsBatch")
            .WithSummary("{operations: [{reserve|capture|release: {...}}]}: up to 500 operations in one transaction; 200 with each operation's status and body, in order.");

        credits.MapGet("/check", CheckAsync)
            .WithName("CheckLedger")
            .WithSummary("The ledger invariant over every account: balance = sum of entries, reserved = sum of held reservations.");

        return app;
    }

    public static Task<IResult> ReserveAsync(
        HttpContext http, CreditLedger ledger, CreditAccounts accounts, IOptions<CreditsOptions> options, CancellationToken cancellationToken) =>
        SingleAsync<ReserveRequest>(http, "{userId, apiKeyId?, amount, requestId, timeoutSeconds?}", r => Validate(r, options.Value), async request =>
        {
            var operation = ToOperation(request, options.Value);
            return await AnswerAsync(await ledger.ReserveAsync(operation, Actor, cancellationToken), operation, ledger, accounts, cancellationToken);
        }, cancellationToken);

    public static Task<IResult> CaptureAsync(HttpContext http, CreditLedger ledger, CancellationToken cancellationToken) =>
        SingleAsync<CaptureRequest>(http, "{reservationId, actualAmount}", Validate, async request => SettleAnswer(
            await ledger.CaptureAsync(ToOperation(request), Actor, cancellationToken), request.ReservationId!.Value, capture: true),
            cancellationToken);

    public static Task<IResult> ReleaseAsync(HttpContext http, CreditLedger ledger, CancellationToken cancellationToken) =>
        SingleAsync<ReleaseRequest>(http, "{reservationId}", Validate, async request => SettleAnswer(
            await ledger.ReleaseAsync(ToOperation(request), Actor, cancellationToken), request.ReservationId!.Value, capture: false),
            cancellationToken);

    /// <summary>
    /// The operations of several callers in one transaction (<see cref="CreditLedger.ExecuteAsync"/>). An invalid
    /// operation is answered 400 and left out; the others run. 200 with one result per operation, in order.
    /// </summary>
    public static async Task<IResult> BatchAsync(
        HttpContext http, CreditLedger ledger, CreditAccounts accounts, IOptions<CreditsOptions> options,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<CreditBatchRequest>(http.Request, "{operations: [{reserve|capture|release: {...}}]}", cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        if (request!.Operations is not { Count: > 0 and <= CreditBatchRequest.MaxOperations } requested)
        {
            return CoreProblems.Invalid("operations", $"operations is required: 1 to {CreditBatchRequest.MaxOperations} operations.");
        }

        var results = new CreditOperationResult[requested.Count];
        var operations = new List<LedgerOperation>(requested.Count);
        var positions = new List<int>(requested.Count);
        for (var i = 0; i < requested.Count; i++)
        {
            var (operation, errors) = Parse(requested[i], options.Value);
            if (operation is null)
            {
                results[i] = new CreditOperationResult(StatusCodes.Status400BadRequest, Problem: CoreProblems.InvalidDetails(errors!));
                continue;
            }

            operations.Add(operation);
            positions.Add(i);
        }

        var outcomes = await ledger.ExecuteAsync(operations, Actor, cancellationToken);
        for (var j = 0; j < outcomes.Count; j++)
        {
            results[positions[j]] = ToOperationResult(outcomes[j] switch
            {
                ReserveResult result => await AnswerOrFailureAsync(result, (ReserveOperation)operations[j], ledger, accounts, loggerFactory, cancellationToken),
                SettleResult result => SettleAnswer(result, ReservationOf(operations[j]), operations[j] is CaptureOperation),
                Exception ex => Failure(ex, loggerFactory),
                var other => throw new InvalidOperationException($"The ledger answered {other.GetType().Name}."),
            });
        }

        return TypedResults.Ok(new CreditBatchResponse(results));
    }

    public static async Task<IResult> CheckAsync(CreditLedger ledger, CancellationToken cancellationToken) =>
        TypedResults.Ok(await ledger.CheckAsync(cancellationToken));

    /// <summary>One operation by its own endpoint: the body read strictly and validated (400 naming the fields), then run.</summary>
    private static async Task<IResult> SingleAsync<T>(
        HttpContext http, string shape, Func<T, Dictionary<string, string[]>?> validate, Func<T, Task<Answer>> run, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(http);
        var (request, invalid) = await JsonBody.ReadAsync<T>(http.Request, shape, cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        return validate(request!) is { } errors ? CoreProblems.Invalid(errors) : ToResult(await run(request!));
    }

    /// <summary>An HTTP status and its body: a <see cref="ReservationResponse"/>, <see cref="SettlementResponse"/> or <see cref="ProblemDetails"/>.</summary>
    private readonly record struct Answer(int Status, object Body);

    /// <summary>An operation of a batch, or why it is invalid.</summary>
    private static (LedgerOperation? Operation, Dictionary<string, string[]>? Errors) Parse(CreditOperation? operation, CreditsOptions options) => operation switch
    {
        { Reserve: { } r, Capture: null, Release: null } => Validate(r, options) is { } e ? (null, e) : (ToOperation(r, options), null),
        { Capture: { } c, Reserve: null, Release: null } => Validate(c) is { } e ? (null, e) : (ToOperation(c), null),
        { Release: { } r, Reserve: null, Capture: null } => Validate(r) is { } e ? (null, e) : (ToOperation(r), null),
        _ => (null, new() { ["operation"] = ["An operation is an object with exactly one of reserve, capture or release."] }),
    };

    private static Dictionary<string, string[]>? Validate(ReserveRequest request, CreditsOptions options)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.UserId is null || request.UserId == Guid.Empty)
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

        return errors.Count > 0 ? errors : null;
    }

    private static Dictionary<string, string[]>? Validate(CaptureRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.ReservationId is null || request.ReservationId == Guid.Empty)
        {
            errors["reservationId"] = ["reservationId is required."];
        }

        if (request.ActualAmount is not (>= 0 and <= CreditsOptions.MaxAmount))
        {
            errors["actualAmount"] = [$"actualAmount is required: a whole number of credits from 0 to {CreditsOptions.MaxAmount}."];
        }

        return errors.Count > 0 ? errors : null;
    }

    private static Dictionary<string, string[]>? Validate(ReleaseRequest request) =>
        request.ReservationId is null || request.ReservationId == Guid.Empty
            ? new() { ["reservationId"] = ["reservationId is required."] }
            : null;

    private static ReserveOperation ToOperation(ReserveRequest request, CreditsOptions options) => new(
        request.UserId!.Value, request.ApiKeyId, request.Amount!.Value, request.RequestId!,
        request.TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : options.ReservationTimeout);

    private static CaptureOperation ToOperation(CaptureRequest request) => new(request.ReservationId!.Value, request.ActualAmount!.Value);

    private static ReleaseOperation ToOperation(ReleaseRequest request) => new(request.ReservationId!.Value);

    /// <summary>
    /// The answer to a reserve. The ledger meets a user for the first time here: their account is opened (once
    /// AuthService confirms the user) and the reserve runs again.
    /// </summary>
    private static async Task<Answer> AnswerAsync(
        ReserveResult result, ReserveOperation operation, CreditLedger ledger, CreditAccounts accounts, CancellationToken cancellationToken)
    {
        if (result.Outcome == ReserveOutcome.NoAccount)
        {
            if (!await accounts.TryOpenAsync(operation.UserId, cancellationToken))
            {
                return new Answer(StatusCodes.Status404NotFound, CoreProblems.UnknownUserDetails(operation.UserId));
            }

            result = await ledger.ReserveAsync(operation, Actor, cancellationToken);
        }

        var available = result.Balance - result.Reserved;
        var scope = result.Outcome == ReserveOutcome.UserMonthlyCap ? "user's" : "API key's";
        return result.Outcome switch
        {
            ReserveOutcome.Reserved => new Answer(StatusCodes.Status201Created, Reservation(result, operation.UserId, replayed: false)),
            ReserveOutcome.Replayed => new Answer(StatusCodes.Status200OK, Reservation(result, operation.UserId, replayed: true)),
            ReserveOutcome.InsufficientCredits => new Answer(StatusCodes.Status402PaymentRequired, CoreProblems.Details(
                StatusCodes.Status402PaymentRequired, CoreProblems.InsufficientCredits, "Insufficient credits",
                $"This call needs {operation.Amount} credits; {Math.Max(available, 0)} are available.",
                new Dictionary<string, object?> { ["requested"] = operation.Amount, ["available"] = Math.Max(available, 0) })),
            ReserveOutcome.UserMonthlyCap or ReserveOutcome.KeyMonthlyCap => new Answer(StatusCodes.Status402PaymentRequired, CoreProblems.Details(
                StatusCodes.Status402PaymentRequired, CoreProblems.MonthlyCapExceeded, "Monthly spending cap reached",
                result.Cap is null
                    ? $"This call needs {operation.Amount} credits, over the {scope} monthly cap."
                    : $"This call needs {operation.Amount} credits; the {scope} monthly cap is {result.Cap} and {result.CapSpent} are spent or held this month.",
                new Dictionary<string, object?>
                {
                    ["requested"] = operation.Amount,
                    ["scope"] = result.Outcome == ReserveOutcome.UserMonthlyCap ? "user" : "apiKey",
                    ["cap"] = result.Cap,
                    ["spent"] = result.CapSpent,
                })),
            ReserveOutcome.RequestConflict => new Answer(StatusCodes.Status409Conflict, CoreProblems.Details(
                StatusCodes.Status409Conflict, CoreProblems.IdempotencyConflict, "requestId already used",
                "This requestId was used for a reservation with another user, key or amount; each call needs its own requestId.")),
            _ => new Answer(StatusCodes.Status404NotFound, CoreProblems.UnknownUserDetails(operation.UserId)),
        };
    }

    private static Answer SettleAnswer(SettleResult result, Guid reservationId, bool capture) => result.Outcome switch
    {
        SettleOutcome.Settled or SettleOutcome.Replayed => new Answer(StatusCodes.Status200OK, new SettlementResponse(
            reservationId, result.Status!, result.UserId, result.Amount, result.Charged, result.Balance, result.Reserved,
            result.Balance - result.Reserved, result.Outcome == SettleOutcome.Replayed)),
        SettleOutcome.NotFound => new Answer(StatusCodes.Status404NotFound, CoreProblems.Details(
            StatusCodes.Status404NotFound, CoreProblems.NotFound, "Reservation not found", $"No reservation {reservationId}.")),
        _ => new Answer(StatusCodes.Status409Conflict, CoreProblems.Details(
            StatusCodes.Status409Conflict, CoreProblems.ReservationSettled, "Reservation already settled",
            capture && result.Status == "captured"
                ? $"The reservation was captured already, for {result.Charged} credits."
                : $"The reservation is {result.Status}: it can no longer be {(capture ? "captured" : "released")}.",
            new Dictionary<string, object?> { ["status"] = result.Status })),
    };

    /// <summary>
    /// A reserve's answer in a batch. The batch has committed by now: a failure while opening a new user's account
    /// (AuthService or the database down) is that operation's 503, not the whole batch's, whose other operations took effect.
    /// </summary>
    private static async Task<Answer> AnswerOrFailureAsync(
        ReserveResult result, ReserveOperation operation, CreditLedger ledger, CreditAccounts accounts, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        try
        {
            return await AnswerAsync(result, operation, ledger, accounts, cancellationToken);
        }
        catch (Exception ex) when (ex is DependencyUnavailableException or NpgsqlException && !cancellationToken.IsCancellationRequested)
        {
            return Failure(ex, loggerFactory);
        }
    }

    /// <summary>An operation of a batch that failed alone (the rest of the batch went through): 503 or 500, no details.</summary>
    private static Answer Failure(Exception exception, ILoggerFactory loggerFactory)
    {
        var outage = exception is DependencyUnavailableException
            || (exception is PostgresException postgres ? PostgresFailure.IsOutage(postgres) : exception is NpgsqlException);
        loggerFactory.CreateLogger(typeof(CreditsInternalApi)).LogError(exception, "A credits operation of a batch failed: {Reason}", PostgresFailure.Describe(exception));
        return outage
            ? new Answer(StatusCodes.Status503ServiceUnavailable, CoreProblems.Details(
                StatusCodes.Status503ServiceUnavailable, SmartHubProblemTypes.ServiceUnavailable, "Service unavailable", "The ledger cannot take this operation right now; retry it."))
            : new Answer(StatusCodes.Status500InternalServerError, CoreProblems.Details(
                StatusCodes.Status500InternalServerError, SmartHubProblemTypes.InternalError, "Internal error", "The ledger could not take this operation."));
    }

    private static Guid ReservationOf(LedgerOperation operation) => operation switch
    {
        CaptureOperation c => c.ReservationId,
        ReleaseOperation r => r.ReservationId,
        _ => throw new ArgumentException($"{operation.GetType().Name} settles no reservation.", nameof(operation)),
    };

    private static ReservationResponse Reservation(ReserveResult result, Guid userId, bool replayed) =>
        new(result.ReservationId, result.Status, userId, result.Amount, result.ExpiresAt, result.Balance, result.Reserved, result.Balance - result.Reserved, replayed);

    private static IResult ToResult(Answer answer) => answer.Body switch
    {
        ProblemDetails problem => TypedResults.Problem(problem),
        ReservationResponse reservation when answer.Status == StatusCodes.Status201Created =>
            TypedResults.Created($"/internal/credits/reservations/{reservation.ReservationId}", reservation),
        var body => TypedResults.Json(body, statusCode: answer.Status),
    };

    private static CreditOperationResult ToOperationResult(Answer answer) => answer.Body switch
    {
        ProblemDetails problem => new CreditOperationResult(answer.Status, Problem: problem),
        ReservationResponse reservation => new CreditOperationResult(answer.Status, Reservation: reservation),
        SettlementResponse settlement => new CreditOperationResult(answer.Status, Settlement: settlement),
        var other => throw new InvalidOperationException($"Unexpected answer {other.GetType().Name}."),
    };
}
