using System.Diagnostics;
using System.Security.Claims;
using System.Text;
using SmartHub.McpServer.Cache;
using SmartHub.McpServer.Credits;
using SmartHub.McpServer.Pricing;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;
using SmartHub.McpServer.Tokens;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Telemetry;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// The chat pipeline. For each request: find the model's deployments and price; serve a deterministic request from the
/// cache when it can; otherwise reserve the most the request can cost (prompt + output limit at the model's price),
/// call the deployments in order (<see cref="DeploymentRouter"/>: retries, fallback, circuit breakers, RPM limits), capture what the answer actually cost (never more than
/// the reservation) or release it all on failure; and record one usage record, whatever happened.
/// </summary>
public sealed partial class ChatService(
    ModelCatalog catalog,
    DeploymentRouter router,
    PriceList prices,
    CreditLeases leases,
    UsageRecorder usage,
    ChatCache cache,
    ChatServiceOptions options,
    ServiceTelemetry telemetry,
    ChatMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ChatService> logger) : IChatService
{
    public Task<ChatOutcome> CompleteAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions chatOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(chatOptions);
        return Consensus.IsConsensus(request.Model)
            ? ConsensusAsync(request, caller, chatOptions, cancellationToken)
            : CompleteOneAsync(request, caller, chatOptions, record: true, cancellationToken);
    }

    /// <summary>One model's answer; <paramref name="record"/> false leaves the usage record to a consensus call.</summary>
    private async Task<ChatOutcome> CompleteOneAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions chatOptions, bool record, CancellationToken cancellationToken)
    {
        using var activity = telemetry.ActivitySource.StartActivity("chat.completion");
        var call = new CallState(request, caller, timeProvider) { Record = record };
        activity?.SetTag("smarthub.chat.model", request.Model);

        var plan = await PlanOrLeaveAsync(call, chatOptions, cancellationToken).ConfigureAwait(false);
        if (plan.Error is { } refused)
        {
            return Finish(call, refused);
        }

        if (plan.Cached is { } cached)
        {
            return await ServeCachedAsync(call, plan, cached, cancellationToken).ConfigureAwait(false);
        }

        var reservation = await ReserveAsync(call, plan, cancellationToken).ConfigureAwait(false);
        if (reservation.Error is { } unreserved)
        {
            return Finish(call, unreserved);
        }

        try
        {
            var routed = await router.CompleteAsync(plan.Deployments, request, d => Math.Min(plan.MaxTokens, request.MaxTokens ?? d.MaxOutputTokens), cancellationToken).ConfigureAwait(false);
            var completion = routed.Completion;
            call.Provider = routed.Deployment.Name;
            call.FirstTokenAt = timeProvider.GetTimestamp();
            var tokens = completion.Usage ?? new TokenUsage(plan.PromptTokens, TokenCounter.Count(completion.Content));
            var cost = Math.Min(plan.Price.Cost(tokens.PromptTokens, tokens.CompletionTokens), reservation.Amount);
            await SettleAsync(reservation, cost).ConfigureAwait(false);
            if (plan.CacheKey is { } key)
            {
                await cache.SetAsync(key, new CachedAnswer(completion.Content, completion.FinishReason, tokens.PromptTokens, tokens.CompletionTokens, call.Provider, completion.ToolCalls), cancellationToken).ConfigureAwait(false);
            }

            activity?.SetTag("smarthub.chat.provider", call.Provider);
            return Finish(call, new ChatOutcome(StatusCodes.Status200OK, completion, null, call.Provider, tokens, cost, false, call.Id, call.Created));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await SettleAsync(reservation, null).ConfigureAwait(false);
            Finish(call, new ChatOutcome(StatusClientClosed, null, null, call.Provider));
            throw;
        }
        catch (RoutingException failure)
        {
            await SettleAsync(reservation, null).ConfigureAwait(false);
            activity?.SetStatus(ActivityStatusCode.Error, failure.Message);
            return Finish(call, Failed(failure));
        }
    }

    /// <summary>
    /// A streamed answer written to <paramref name="writer"/>. Returns null when the answer was written (completely, or
    /// until the upstream broke off: that ends the stream with an error event); an error outcome when nothing was
    /// written (the caller answers it as an ordinary error response).
    /// </summary>
    public async Task<ChatOutcome?> StreamAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions chatOptions, IChatStreamWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(chatOptions);
        ArgumentNullException.ThrowIfNull(writer);
        if (Consensus.IsConsensus(request.Model))
        {
            // The models answer in parallel and are compared when all are done: the chosen answer is sent as one chunk.
            var agreed = await ConsensusAsync(request, caller, chatOptions, cancellationToken).ConfigureAwait(false);
            if (!agreed.Succeeded)
            {
                return agreed;
            }

            await writer.BeginAsync(new ChatStreamStart(agreed.Id!, agreed.Created, request.Model, agreed.Provider!, agreed.CacheHit), cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(new ChatDelta(agreed.Completion!.Content, ToolCalls: agreed.Completion.ToolCalls), cancellationToken).ConfigureAwait(false);
            await writer.EndAsync(agreed.Completion.FinishReason, agreed.Usage, cancellationToken).ConfigureAwait(false);
            return null;
        }

        using var activity = telemetry.ActivitySource.StartActivity("chat.stream");
        var call = new CallState(request, caller, timeProvider);
        activity?.SetTag("smarthub.chat.model", request.Model);

        var plan = await PlanOrLeaveAsync(call, chatOptions, cancellationToken).ConfigureAwait(false);
        if (plan.Error is { } refused)
        {
            return Finish(call, refused);
        }

        if (plan.Cached is { } cached)
        {
            var outcome = await ServeCachedAsync(call, plan, cached, cancellationToken).ConfigureAwait(false);
            if (!outcome.Succeeded)
            {
                return outcome;
            }

            await writer.BeginAsync(new ChatStreamStart(call.Id, call.Created, request.Model, cached.Provider, CacheHit: true), cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(new ChatDelta(cached.Content, ToolCalls: cached.ToolCalls), cancellationToken).ConfigureAwait(false);
            await writer.EndAsync(cached.FinishReason, outcome.Usage, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var reservation = await ReserveAsync(call, plan, cancellationToken).ConfigureAwait(false);
        if (reservation.Error is { } unreserved)
        {
            return Finish(call, unreserved);
        }

        RoutedStream routed;
        try
        {
            routed = await router.StreamAsync(plan.Deployments, request, d => Math.Min(plan.MaxTokens, request.MaxTokens ?? d.MaxOutputTokens), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await SettleAsync(reservation, null).ConfigureAwait(false);
            Finish(call, new ChatOutcome(StatusClientClosed, null, null));
            throw;
        }
        catch (RoutingException failure)
        {
            await SettleAsync(reservation, null).ConfigureAwait(false);
            return Finish(call, Failed(failure));
        }

        await using (routed.ConfigureAwait(false))
        {
            call.Provider = routed.Deployment.Name;
            call.FirstTokenAt = timeProvider.GetTimestamp();
            activity?.SetTag("smarthub.chat.provider", call.Provider);
            var text = plan.CacheKey is null ? null : new StringBuilder();
            var produced = 0;
            TokenUsage? reported = null;
            string? finish = null;
            var status = StatusCodes.Status200OK;
            try
            {
                await writer.BeginAsync(new ChatStreamStart(call.Id, call.Created, request.Model, call.Provider, CacheHit: false), cancellationToken).ConfigureAwait(false);
                ChatDelta? delta = routed.FirstDelta;
                while (delta is not null)
                {
                    var tokens = TokenCounter.Count(delta.Content);
                    if (produced + tokens > plan.MaxTokens)
                    {
                        // More than the reservation covers (an upstream that ignores max_tokens): end the answer here.
                        finish = FinishReasons.Length;
                        break;
                    }

                    produced += tokens;
                    reported = delta.Usage ?? reported;
                    if (delta.Content is not null || delta.ToolCalls is not null)
                    {
                        text?.Append(delta.Content);
                        await writer.WriteAsync(delta with { FinishReason = null, Usage = null }, cancellationToken).ConfigureAwait(false);
                    }

                    finish = delta.FinishReason ?? finish;
                    delta = await routed.Rest.MoveNextAsync().ConfigureAwait(false) ? routed.Rest.Current : null;
                }

                var usageOut = new TokenUsage(reported?.PromptTokens ?? plan.PromptTokens, reported?.CompletionTokens ?? produced);
                if (usageOut.CompletionTokens > plan.MaxTokens)
                {
                    usageOut = usageOut with { CompletionTokens = plan.MaxTokens };
                }

                var cost = Math.Min(plan.Price.Cost(usageOut.PromptTokens, usageOut.CompletionTokens), reservation.Amount);
                await writer.EndAsync(finish ?? FinishReasons.Stop, usageOut, cancellationToken).ConfigureAwait(false);
                await SettleAsync(reservation, cost).ConfigureAwait(false);
                if (plan.CacheKey is { } key && text is not null)
                {
                    await cache.SetAsync(key, new CachedAnswer(text.ToString(), finish ?? FinishReasons.Stop, usageOut.PromptTokens, usageOut.CompletionTokens, call.Provider, null), cancellationToken).ConfigureAwait(false);
                }

                Finish(call, new ChatOutcome(status, null, null, call.Provider, usageOut, cost));
                return null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The caller went away: the upstream call is cancelled with it; only the tokens produced are charged.
                var partial = new TokenUsage(plan.PromptTokens, produced);
                var cost = Math.Min(plan.Price.Cost(partial.PromptTokens, partial.CompletionTokens), reservation.Amount);
                await SettleAsync(reservation, cost).ConfigureAwait(false);
                Finish(call, new ChatOutcome(StatusClientClosed, null, null, call.Provider, partial, cost));
                throw;
            }
            catch (Exception failure) when (failure is ProviderException || (failure is OperationCanceledException && routed.TimedOut))
            {
                // The upstream broke off (or ran past its deployment's timeout) after the answer began: nothing can be
                // retried (tokens were sent). End the stream with an error event and charge what was produced.
                logger.LogWarning("Chat {Id}: {Provider} broke off the stream after {Tokens} tokens: {Reason}", call.Id, call.Provider, produced,
                    failure is ProviderException ? failure.Message : $"no end within the deployment's timeout");
                var partial = new TokenUsage(plan.PromptTokens, produced);
                var cost = Math.Min(plan.Price.Cost(partial.PromptTokens, partial.CompletionTokens), reservation.Amount);
                await SettleAsync(reservation, cost).ConfigureAwait(false);
                var reason = failure is ProviderException ? failure.Message : "the answer did not end within the deployment's timeout";
                await writer.FailAsync(OpenAiError.Create($"The provider failed mid-answer: {reason}", "server_error", "upstream_error"), cancellationToken).ConfigureAwait(false);
                Finish(call, new ChatOutcome(StatusCodes.Status502BadGateway, null, null, call.Provider, partial, cost));
                return null;
            }
        }
    }
}
