using System.Security.Claims;
using SmartHub.McpServer.Cache;
using SmartHub.McpServer.Credits;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;
using SmartHub.McpServer.Tokens;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.McpServer.Chat;

public sealed partial class ChatService
{
    /// <summary>The status a usage record carries when the caller went away before the answer was complete (nginx's 499).</summary>
    public const int StatusClientClosed = 499;

    /// <summary>One request's identity and clock.</summary>
    private sealed class CallState(ChatRequest request, ClaimsPrincipal caller, TimeProvider timeProvider)
    {
        public Guid RequestId { get; } = Guid.CreateVersion7();

        public string Id => field ??= "chatcmpl-" + RequestId.ToString("N");

        public long Created { get; } = timeProvider.GetUtcNow().ToUnixTimeSeconds();

        public DateTimeOffset StartedAt { get; } = timeProvider.GetUtcNow();

        public long Started { get; } = timeProvider.GetTimestamp();

        public long? FirstTokenAt { get; set; }

        public ChatRequest Request => request;

        public Guid UserId { get; } = caller.UserId();

        public Guid? ApiKeyId { get; } = caller.ApiKeyId();

        public string? Provider { get; set; }

        /// <summary>The reservation (or credit lease) that pays for the request: the usage record names it.</summary>
        public Guid? ReservationId { get; set; }

        /// <summary>False for the calls of a consensus request, which records one usage record for all of them.</summary>
        public bool Record { get; init; } = true;
    }

    /// <summary>What a request needs before any credits move: deployments, price, counts, and a cache answer if any.</summary>
    private sealed record Plan(
        IReadOnlyList<ChatDeployment> Deployments, ModelPrice Price, int PromptTokens, int MaxTokens, string? CacheKey, CachedAnswer? Cached, ChatOutcome? Error)
    {
        public static Plan Refused(ChatOutcome error) => new([], new ModelPrice(), 0, 0, null, null, error);
    }

    private readonly record struct Reservation(CreditHold? Hold, long Amount, ChatOutcome? Error);

    /// <summary><see cref="PlanAsync"/>, recording the request (499) when the caller leaves meanwhile.</summary>
    private async Task<Plan> PlanOrLeaveAsync(CallState call, ChatOptions chatOptions, CancellationToken cancellationToken)
    {
        try
        {
            return await PlanAsync(call, chatOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Finish(call, new ChatOutcome(StatusClientClosed, null, null));
            throw;
        }
    }

    private async Task<Plan> PlanAsync(CallState call, ChatOptions chatOptions, CancellationToken cancellationToken)
    {
        var request = call.Request;
        if (!catalog.TryGet(request.Model, out var deployments))
        {
            return Plan.Refused(Error(StatusCodes.Status404NotFound, $"The model '{request.Model}' does not exist or you do not have access to it.", "invalid_request_error", "model_not_found", "model"));
        }

        ModelPrice? price;
        try
        {
            price = await prices.GetAsync(request.Model, cancellationToken).ConfigureAwait(false);
        }
        catch (DependencyUnavailableException exception)
        {
            return Plan.Refused(Error(StatusCodes.Status503ServiceUnavailable, exception.Message, "service_unavailable", "credits_unavailable"));
        }

        if (price is null)
        {
            logger.LogError("Model {Model} has no price: add Pricing__Models__{Model}__PromptPer1K and __CompletionPer1K to CoreService's configuration.", request.Model, request.Model);
            return Plan.Refused(Error(StatusCodes.Status503ServiceUnavailable, $"The model '{request.Model}' has no price yet; the hub's operator has been told.", "service_unavailable", "model_not_priced"));
        }

        var promptTokens = TokenCounter.CountPrompt(request.Messages) + TokenCounter.CountTools(request.Tools);
        var maxTokens = request.MaxTokens ?? deployments.Max(d => d.MaxOutputTokens);
        string? key = null;
        CachedAnswer? cached = null;
        if (cache.Options.Enabled && !chatOptions.NoCache && ChatCache.IsDeterministic(request))
        {
            key = cache.Key(request, call.UserId);
            cached = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }

        return new Plan(deployments, price, promptTokens, maxTokens, key, cached, null);
    }

    private async Task<ChatOutcome> ServeCachedAsync(CallState call, Plan plan, CachedAnswer cached, CancellationToken cancellationToken)
    {
        var tokens = new TokenUsage(cached.PromptTokens, cached.CompletionTokens);
        var cost = (long)Math.Ceiling(plan.Price.Cost(tokens.PromptTokens, tokens.CompletionTokens) * (decimal)cache.Options.ChargeFraction);
        if (cost > 0)
        {
            var reservation = await ReserveAsync(call, plan with { PromptTokens = tokens.PromptTokens }, cancellationToken, cost).ConfigureAwait(false);
            if (reservation.Error is { } refused)
            {
                return Finish(call, refused);
            }

            await SettleAsync(reservation, cost).ConfigureAwait(false);
        }

        call.Provider = cached.Provider;
        call.FirstTokenAt = timeProvider.GetTimestamp();
        var completion = new ChatCompletion(cached.Content, cached.FinishReason, tokens, cached.ToolCalls);
        return Finish(call, new ChatOutcome(StatusCodes.Status200OK, completion, null, cached.Provider, tokens, cost, CacheHit: true, call.Id, call.Created));
    }

    /// <summary>
    /// Holds the most the request can cost: prompt plus output limit at the model's price (or <paramref name="amount"/>),
    /// from the user's credit lease or in a reservation of its own (<see cref="CreditLeases"/>).
    /// </summary>
    private async Task<Reservation> ReserveAsync(CallState call, Plan plan, CancellationToken cancellationToken, long? amount = null)
    {
        var hold = amount ?? plan.Price.Cost(plan.PromptTokens, plan.MaxTokens);
        if (hold == 0)
        {
            return new Reservation(null, 0, null);
        }

        var longest = plan.Deployments.Count == 0 ? TimeSpan.Zero : plan.Deployments.Max(d => d.Timeout) * plan.Deployments.Count * 3;
        var timeout = longest > options.MinReservationTimeout ? longest : options.MinReservationTimeout;
        HoldResult answer;
        try
        {
            // Not cancelled with the request once a ledger call is under way: a reserve abandoned in flight could still
            // land and hold credits until it expires. It completes, and a caller gone meanwhile has it released at once.
            answer = await leases.HoldAsync(new HoldRequest(call.UserId, call.ApiKeyId, hold, call.Id, timeout), CancellationToken.None).ConfigureAwait(false);
        }
        catch (DependencyUnavailableException exception)
        {
            return new Reservation(null, 0, Error(StatusCodes.Status503ServiceUnavailable, $"Credits cannot be checked right now ({exception.Message}). Please retry.", "service_unavailable", "credits_unavailable"));
        }

        if (answer.Hold is { } held)
        {
            call.ReservationId = held.ReservationId;
            var reservation = new Reservation(held, hold, null);
            if (cancellationToken.IsCancellationRequested)
            {
                await SettleAsync(reservation, null).ConfigureAwait(false);
                Finish(call, new ChatOutcome(StatusClientClosed, null, null));
                cancellationToken.ThrowIfCancellationRequested();
            }

            return reservation;
        }

        var refusal = answer.Refusal!;
        var detail = refusal.Problem?.Detail ?? "The credits ledger refused the request.";
        var error = refusal.Status switch
        {
            StatusCodes.Status402PaymentRequired when refusal.Problem?.Type?.EndsWith("monthly-cap-exceeded", StringComparison.Ordinal) == true =>
                Error(StatusCodes.Status402PaymentRequired, detail, "insufficient_quota", "monthly_cap_exceeded"),
            StatusCodes.Status402PaymentRequired =>
                Error(StatusCodes.Status402PaymentRequired, $"{detail} This request can cost up to {hold} credits; lower max_tokens or ask for more credits.", "insufficient_quota", "insufficient_credits"),
            StatusCodes.Status404NotFound => Error(StatusCodes.Status403Forbidden, "Your account has no credits account.", "permission_error", "no_credits_account"),
            >= 500 => Error(StatusCodes.Status503ServiceUnavailable, $"Credits cannot be checked right now: {detail}", "service_unavailable", "credits_unavailable"),
            _ => Error(StatusCodes.Status500InternalServerError, "The credits ledger refused the reservation.", "server_error", "credits_error"),
        };
        if (refusal.Status is not (StatusCodes.Status402PaymentRequired or >= 500))
        {
            logger.LogError("Chat {Id}: reserve answered {Status}: {Detail}", call.Id, refusal.Status, detail);
        }

        return new Reservation(null, 0, error);
    }

    /// <summary>Charges <paramref name="cost"/> (null: nothing) and gives the rest of the hold back. A ledger that is down gets it later.</summary>
    private Task SettleAsync(Reservation reservation, long? cost) =>
        reservation.Hold is { } hold ? leases.SettleAsync(hold, cost) : Task.CompletedTask;

    /// <summary>
    /// Records usage for the request (one record, whatever happened) and its metrics (<see cref="ChatMetrics"/>), and
    /// returns <paramref name="outcome"/>.
    /// </summary>
    private ChatOutcome Finish(CallState call, ChatOutcome outcome)
    {
        if (!call.Record)
        {
            return outcome;
        }

        var now = timeProvider.GetTimestamp();
        var provider = outcome.Provider ?? call.Provider;
        var elapsed = timeProvider.GetElapsedTime(call.Started, now);
        TimeSpan? firstToken = call.FirstTokenAt is { } first ? timeProvider.GetElapsedTime(call.Started, first) : null;
        usage.Enqueue(new UsageRecord(
            call.RequestId,
            call.StartedAt,
            call.UserId,
            call.ApiKeyId,
            Truncate(call.Request.Model),
            Truncate(provider ?? "none"),
            outcome.Usage.PromptTokens,
            outcome.Usage.CompletionTokens,
            outcome.Credits,
            elapsed.TotalMilliseconds,
            firstToken?.TotalMilliseconds,
            outcome.Status,
            outcome.CacheHit,
            call.ReservationId));
        metrics.RequestFinished(ChatMetrics.ModelTagFor(call.Request.Model, catalog), Truncate(provider ?? "none"), outcome, elapsed, firstToken);
        return outcome;
    }

    private static string Truncate(string value) => value.Length <= UsageRecord.MaxNameLength ? value : value[..UsageRecord.MaxNameLength];

    /// <summary>What to answer when no deployment could: the router's status and message, in OpenAI's shape.</summary>
    private static ChatOutcome Failed(RoutingException failure)
    {
        var (type, code) = failure.Reason switch
        {
            RoutingFailure.RequestRejected => ("invalid_request_error", "upstream_rejected"),
            RoutingFailure.RateLimited => ("rate_limit_error", "upstream_rate_limited"),
            RoutingFailure.Unavailable => ("service_unavailable", "upstream_unavailable"),
            _ => ("server_error", "upstream_error"),
        };
        var provider = failure.Attempts.Count == 0 ? null : failure.Attempts[^1].Deployment;
        return new ChatOutcome(failure.StatusCode, null, OpenAiError.Create(failure.Message, type, code), provider, RetryAfter: failure.RetryAfter);
    }

    private static ChatOutcome Error(int status, string message, string type, string code, string? param = null) =>
        new(status, null, OpenAiError.Create(message, type, code, param));
}
