using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// Sends a chat call to the first deployment of a model that can answer it.
/// <list type="bullet">
/// <item>Deployments are tried in the order given (the catalog's priority order).</item>
/// <item>On one deployment, transient failures (5xx, 408, 409, 429, connection failures, the deployment's
/// <see cref="ChatDeployment.Timeout"/>) are retried up to <see cref="RouterOptions.MaxRetries"/> times with jittered
/// exponential backoff (Polly); an upstream Retry-After is waited for when it is at most
/// <see cref="RouterOptions.MaxRetryDelay"/> and fits in the time left, otherwise the next deployment is tried.</item>
/// <item>A failure that is the deployment's fault (401, 403, 404, other 4xx, a malformed answer) moves to the next
/// deployment at once; 400, 413 and 422 (the request's own fault) stop routing and go back to the caller as they are.</item>
/// <item>Each deployment has a circuit breaker (Polly) shared by all requests of this process: while open, the
/// deployment is skipped without a call.</item>
/// <item>Each deployment with a requests-per-minute limit takes a slot from <see cref="IRpmLimiter"/> (shared by all
/// replicas through Redis) per attempt; when none is left the deployment is skipped.</item>
/// <item>The caller's token (client disconnect) stops everything at once and is never a deployment failure.</item>
/// </list>
/// When no deployment answers, a <see cref="RoutingException"/> says what to answer (429, 503, 502, or the upstream's
/// 400-class error). Each attempt is a span ("mcp.route.attempt") and counted (<c>smarthub.mcp.routing.*</c>).
/// </summary>
public sealed class DeploymentRouter
{
    private readonly ProviderRegistry _providers;
    private readonly IRpmLimiter _rpm;
    private readonly RouterOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ActivitySource _activitySource;
    private readonly RoutingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly ConcurrentDictionary<string, DeploymentHealth> _health = new(StringComparer.Ordinal);

    public DeploymentRouter(
        ProviderRegistry providers,
        IRpmLimiter rpmLimiter,
        IOptions<RouterOptions> options,
        TimeProvider timeProvider,
        ServiceTelemetry telemetry,
        ILogger<DeploymentRouter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(telemetry);
        _providers = providers ?? throw new ArgumentNullException(nameof(providers));
        _rpm = rpmLimiter ?? throw new ArgumentNullException(nameof(rpmLimiter));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _options = options.Value;
        _activitySource = telemetry.ActivitySource;
        _metrics = new RoutingMetrics(telemetry);
        _retry = BuildRetryPipeline(_options, timeProvider);
        _metrics.Meter.CreateObservableGauge(
            "smarthub.mcp.routing.circuit.state",
            ObserveCircuits,
            "{state}",
            "Each deployment's circuit: 0 closed, 1 half-open (probing), 2 open (skipped), 3 isolated.");
    }

    /// <summary>
    /// A whole answer from the first deployment that gives one. <paramref name="maxTokens"/> is the output limit for a
    /// deployment (asked once per deployment tried: limits and prices differ between deployments).
    /// </summary>
    /// <exception cref="RoutingException">No deployment answered; <see cref="RoutingException.StatusCode"/> says what to answer.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public async Task<RoutedCompletion> CompleteAsync(
        IReadOnlyList<ChatDeployment> deployments, ChatRequest request, Func<ChatDeployment, int> maxTokens, CancellationToken cancellationToken)
    {
        var (completion, deployment, attempts) = await RouteAsync(
            deployments, request, maxTokens, streaming: false, static (attempt, cancellation) => new ValueTask<ChatCompletion>(
                attempt.Provider.CompleteAsync(attempt.Call, cancellation.Token)), cancellationToken);
        return new RoutedCompletion(completion, deployment, attempts);
    }

    /// <summary>
    /// A stream from the first deployment that produces a first delta. Failures before the first delta are retried and
    /// fall back like <see cref="CompleteAsync"/> (<see cref="RouterOptions.TotalTimeout"/> bounds the time to the first
    /// delta); from the first delta on, the stream belongs to the caller (see <see cref="RoutedStream"/>), which must
    /// dispose it.
    /// </summary>
    /// <exception cref="RoutingException">No deployment produced a first delta.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public async Task<RoutedStream> StreamAsync(
        IReadOnlyList<ChatDeployment> deployments, ChatRequest request, Func<ChatDeployment, int> maxTokens, CancellationToken cancellationToken)
    {
        var (start, deployment, attempts) = await RouteAsync(deployments, request, maxTokens, streaming: true, StartStreamAsync, cancellationToken);
        return new RoutedStream(deployment, start.Enumerator, start.Cancellation, attempts);
    }

    /// <summary>For tests and diagnostics: the circuit state of a deployment (Closed when it was never tried).</summary>
    public CircuitState CircuitStateOf(string deployment) =>
        _health.TryGetValue(deployment, out var health) ? health.State : CircuitState.Closed;

    private static ResiliencePipeline BuildRetryPipeline(RouterOptions options, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is AttemptFailure { Retryable: true }),
                // Retry-After replaces the backoff; whether it is short enough was decided when the failure was classified.
                DelayGenerator = static args => ValueTask.FromResult(args.Outcome.Exception is AttemptFailure { RetryAfter: { } retryAfter } ? retryAfter : (TimeSpan?)null),
            });
        }

        return builder.Build();
    }

    private async Task<(T Result, ChatDeployment Deployment, IReadOnlyList<RouteAttempt> Attempts)> RouteAsync<T>(
        IReadOnlyList<ChatDeployment> deployments,
        ChatRequest request,
        Func<ChatDeployment, int> maxTokens,
        bool streaming,
        Func<DeploymentTry, AttemptCancellation, ValueTask<T>> invoke,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(maxTokens);
        if (deployments.Count == 0)
        {
            throw new ArgumentException("A model has at least one deployment.", nameof(deployments));
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var activity = _activitySource.StartActivity("mcp.route");
        activity?.SetTag("smarthub.model", request.Model);
        activity?.SetTag("smarthub.stream", streaming);

        // The budget: TotalTimeout on the injected clock, or the caller, whichever first.
        using var budget = new CancellationTokenSource(_options.TotalTimeout, _timeProvider);
        using var callerLink = cancellationToken.UnsafeRegister(static state => CancelQuietly((CancellationTokenSource)state!), budget);
        var call = new RoutedCall(_timeProvider.GetTimestamp(), cancellationToken, budget.Token);
        var failures = new List<(ChatDeployment Deployment, AttemptFailure Failure)>(deployments.Count);

        for (var i = 0; i < deployments.Count && !budget.IsCancellationRequested; i++)
        {
            var deployment = deployments[i];
            var health = _health.GetOrAdd(deployment.Name, static (name, router) => router.CreateHealth(name), this);
            if (!TryGetProvider(deployment, out var provider, out var missing))
            {
                // No provider implements the deployment's type (a configuration the catalog let through).
                var failure = new AttemptFailure(AttemptOutcome.DeploymentError, missing);
                call.Attempts.Add(new RouteAttempt(deployment.Name, 1, failure.Outcome, null, TimeSpan.Zero, failure.Message));
                failures.Add((deployment, failure));
                if (i + 1 < deployments.Count)
                {
                    LogFallback(request.Model, deployment, deployments[i + 1], failure);
                }

                continue;
            }

            var attempt = new DeploymentTry(call, deployment, health, provider, new ChatCall(request, deployment, maxTokens(deployment)));
            try
            {
                var result = await _retry.ExecuteAsync(
                    static (state, _) => state.Router.AttemptAsync(state.Attempt, state.Invoke),
                    (Router: this, Attempt: attempt, Invoke: invoke),
                    budget.Token);
                activity?.SetTag(RoutingMetrics.DeploymentTag, deployment.Name);
                activity?.SetTag("smarthub.attempts", call.Attempts.Count);
                return (result, deployment, call.Attempts);
            }
            catch (AttemptFailure failure) when (failure.Outcome == AttemptOutcome.RequestRejected)
            {
                // The request's own fault: every deployment would refuse it the same way.
                var status = failure.StatusCode ?? StatusCodes.Status400BadRequest;
                _metrics.Unrouted.Add(1, new KeyValuePair<string, object?>(RoutingMetrics.StatusTag, status));
                activity?.SetStatus(ActivityStatusCode.Error, failure.Outcome.Name());
                throw new RoutingException(RoutingFailure.RequestRejected, status, failure.Message, retryAfter: null, call.Attempts, failure.InnerException);
            }
            catch (AttemptFailure failure)
            {
                failures.Add((deployment, failure));
                if (failure.Outcome != AttemptOutcome.TotalTimeout && i + 1 < deployments.Count && !budget.IsCancellationRequested)
                {
                    LogFallback(request.Model, deployment, deployments[i + 1], failure);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && budget.IsCancellationRequested)
            {
                // The budget ran out during a backoff delay (attempts themselves report it as an AttemptFailure).
                failures.Add((deployment, new AttemptFailure(AttemptOutcome.TotalTimeout, TotalTimeoutMessage())));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var exception = Exhausted(request.Model, deployments, failures, call.Attempts);
        _metrics.Unrouted.Add(1, new KeyValuePair<string, object?>(RoutingMetrics.StatusTag, exception.StatusCode));
        activity?.SetStatus(ActivityStatusCode.Error, exception.Reason.ToString());
        _logger.LogWarning("Routing {Model}: no deployment answered ({Status}): {Message}", request.Model, exception.StatusCode, exception.Message);
        throw exception;
    }

    /// <summary>One attempt on one deployment: circuit check, RPM slot, then the call through the circuit breaker.</summary>
    private async ValueTask<T> AttemptAsync<T>(DeploymentTry attempt, Func<DeploymentTry, AttemptCancellation, ValueTask<T>> invoke)
    {
        var number = ++attempt.Number;
        var call = attempt.RoutedCall;
        var started = _timeProvider.GetTimestamp();
        using var activity = _activitySource.StartActivity("mcp.route.attempt");
        activity?.SetTag(RoutingMetrics.DeploymentTag, attempt.Deployment.Name);
        activity?.SetTag("smarthub.attempt", number);
        try
        {
            if (attempt.Health.IsBlocked(out var blockedFor))
            {
                throw new AttemptFailure(AttemptOutcome.CircuitOpen, "circuit open after repeated failures", retryAfter: blockedFor);
            }

            if (attempt.Deployment.RequestsPerMinute is not null)
            {
                var decision = await _rpm.TryAcquireAsync(attempt.Deployment, call.Budget);
                if (!decision.Allowed)
                {
                    throw new AttemptFailure(AttemptOutcome.RpmExhausted, "requests-per-minute limit reached", retryAfter: decision.RetryAfter);
                }
            }

            T result;
            try
            {
                result = await attempt.Health.Pipeline.ExecuteAsync(
                    static (state, _) => state.Router.InvokeAsync(state.Attempt, state.Invoke),
                    (Router: this, Attempt: attempt, Invoke: invoke),
                    call.Budget);
            }
            catch (BrokenCircuitException ex)
            {
                // Opened by another request meanwhile, or half-open with its probe in flight.
                throw new AttemptFailure(AttemptOutcome.CircuitOpen, "circuit open after repeated failures", retryAfter: ex.RetryAfter);
            }

            Record(attempt, number, AttemptOutcome.Succeeded, statusCode: null, started, activity, error: null);
            return result;
        }
        catch (AttemptFailure failure)
        {
            Record(attempt, number, failure.Outcome, failure.StatusCode, started, activity, failure.Message, failure.RetryAfter);
            throw;
        }
        catch (OperationCanceledException) when (call.Caller.IsCancellationRequested)
        {
            Record(attempt, number, AttemptOutcome.Canceled, statusCode: null, started, activity, "canceled by the caller");
            throw;
        }
        catch (OperationCanceledException ex) when (call.Budget.IsCancellationRequested)
        {
            var failure = new AttemptFailure(AttemptOutcome.TotalTimeout, TotalTimeoutMessage(), innerException: ex);
            Record(attempt, number, failure.Outcome, statusCode: null, started, activity, failure.Message);
            throw failure;
        }
    }

    /// <summary>The provider call under the attempt's own timeout; its failure classified.</summary>
    private async ValueTask<T> InvokeAsync<T>(DeploymentTry attempt, Func<DeploymentTry, AttemptCancellation, ValueTask<T>> invoke)
    {
        var call = attempt.RoutedCall;
        var cancellation = new AttemptCancellation(attempt.Deployment.Timeout, _timeProvider, call.Caller, call.Budget);
        var keep = false;
        try
        {
            var result = await invoke(attempt, cancellation);
            keep = result is StreamStart; // a stream owns its cancellation from here on
            return result;
        }
        catch (OperationCanceledException) when (cancellation.CallerCanceled || cancellation.BudgetExpired)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            // The attempt's own timeout (or a cancellation inside the provider that nobody here asked for).
            throw new AttemptFailure(
                AttemptOutcome.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"no answer within {attempt.Deployment.Timeout.TotalSeconds:0.###} s"),
                retryable: true,
                innerException: ex);
        }
        catch (ProviderException ex)
        {
            throw Classify(ex, call);
        }
        catch (Exception ex) when (ex is not AttemptFailure)
        {
            // A provider bug or an unwrapped transport error: its message may hold anything, so it is not shown.
            _logger.LogWarning(ex, "Provider {Deployment} failed with an unexpected {ExceptionType}.", attempt.Deployment.Name, ex.GetType().Name);
            throw new AttemptFailure(AttemptOutcome.DeploymentError, $"the provider failed unexpectedly ({ex.GetType().Name})", innerException: ex);
        }
        finally
        {
            if (!keep)
            {
                cancellation.Dispose();
            }
        }
    }

    private static async ValueTask<StreamStart> StartStreamAsync(DeploymentTry attempt, AttemptCancellation cancellation)
    {
        var enumerator = attempt.Provider.StreamAsync(attempt.Call, cancellation.Token).GetAsyncEnumerator(cancellation.Token);
        try
        {
            if (!await enumerator.MoveNextAsync())
            {
                throw new ProviderException(attempt.Deployment.Provider, "The stream ended before its first delta.", statusCode: null, isTransient: false);
            }

            // From the first delta on only the caller and the deployment's timeout end the stream, not the routing budget.
            cancellation.DetachBudget();
            cancellation.Token.ThrowIfCancellationRequested(); // the budget may have fired just before: then the stream is dead
            return new StreamStart(enumerator, cancellation);
        }
        catch
        {
            await DisposeQuietlyAsync(enumerator);
            throw;
        }
    }

    private AttemptFailure Classify(ProviderException ex, RoutedCall call)
    {
        var status = ex.StatusCode;
        AttemptOutcome outcome;
        if (!ex.IsTransient && status is StatusCodes.Status400BadRequest or StatusCodes.Status413PayloadTooLarge or StatusCodes.Status422UnprocessableEntity)
        {
            outcome = AttemptOutcome.RequestRejected;
        }
        else if (status == StatusCodes.Status429TooManyRequests)
        {
            outcome = AttemptOutcome.RateLimited;
        }
        else
        {
            outcome = ex.IsTransient ? AttemptOutcome.UpstreamError : AttemptOutcome.DeploymentError;
        }

        // A Retry-After is only waited for when it is short and the budget has room for it; otherwise the next deployment.
        var retryable = ex.IsTransient && (ex.RetryAfter is not { } wait || (wait <= _options.MaxRetryDelay && wait < TimeLeft(call)));
        return new AttemptFailure(outcome, ex.Message, status, ex.RetryAfter, retryable, ex);
    }

    private bool TryGetProvider(ChatDeployment deployment, out IChatProvider provider, out string error)
    {
        try
        {
            provider = _providers.For(deployment);
            error = string.Empty;
            return true;
        }
        catch (InvalidOperationException ex)
        {
            provider = null!;
            error = ex.Message;
            return false;
        }
    }

    private TimeSpan TimeLeft(RoutedCall call) => _options.TotalTimeout - _timeProvider.GetElapsedTime(call.Started);

    private DeploymentHealth CreateHealth(string deployment) => new(deployment, _options, _timeProvider, _metrics, _logger);

    private void Record(
        DeploymentTry attempt, int number, AttemptOutcome outcome, int? statusCode, long started, Activity? activity, string? error, TimeSpan? retryAfter = null)
    {
        var duration = _timeProvider.GetElapsedTime(started);
        attempt.RoutedCall.Attempts.Add(new RouteAttempt(attempt.Deployment.Name, number, outcome, statusCode, duration, error, retryAfter));

        var deploymentTag = new KeyValuePair<string, object?>(RoutingMetrics.DeploymentTag, attempt.Deployment.Name);
        var outcomeTag = new KeyValuePair<string, object?>(RoutingMetrics.OutcomeTag, outcome.Name());
        _metrics.Attempts.Add(1, deploymentTag, outcomeTag);
        _metrics.AttemptDuration.Record(duration.TotalSeconds, deploymentTag, outcomeTag);
        if (outcome is not (AttemptOutcome.Succeeded or AttemptOutcome.Canceled))
        {
            _metrics.Failures.Add(1, deploymentTag, new KeyValuePair<string, object?>(RoutingMetrics.ReasonTag, outcome.Name()));
        }

        if (activity is not null)
        {
            activity.SetTag(RoutingMetrics.OutcomeTag, outcome.Name());
            if (statusCode is { } status)
            {
                activity.SetTag(RoutingMetrics.StatusTag, status);
            }

            if (outcome is not (AttemptOutcome.Succeeded or AttemptOutcome.Canceled))
            {
                activity.SetTag("error.type", outcome.Name());
                activity.SetStatus(ActivityStatusCode.Error, error);
            }
        }
    }

    private void LogFallback(string model, ChatDeployment from, ChatDeployment to, AttemptFailure failure)
    {
        _metrics.Fallbacks.Add(
            1,
            new KeyValuePair<string, object?>(RoutingMetrics.DeploymentTag, from.Name),
            new KeyValuePair<string, object?>(RoutingMetrics.ReasonTag, failure.Outcome.Name()));
        _logger.LogInformation(
            "Routing {Model}: falling back from {From} to {To} ({Reason}{Status}: {Error})",
            model,
            from.Name,
            to.Name,
            failure.Outcome.Name(),
            failure.StatusCode is { } status ? string.Create(CultureInfo.InvariantCulture, $" {status}") : string.Empty,
            failure.Message);
    }

    private string TotalTimeoutMessage() =>
        string.Create(CultureInfo.InvariantCulture, $"the routing time budget ({_options.TotalTimeout.TotalSeconds:0.###} s) ran out");

    /// <summary>
    /// What to answer when no deployment answered: 429 when every deployment was rate limited, 503 when none failed with
    /// an error of its own (circuits open, timeouts, rate limits), 502 otherwise. Deployments never reached (the budget ran
    /// out first) count as timed out.
    /// </summary>
    internal static RoutingException Exhausted(
        string model, IReadOnlyList<ChatDeployment> deployments, List<(ChatDeployment Deployment, AttemptFailure Failure)> failures, IReadOnlyList<RouteAttempt> attempts)
    {
        var outcomes = failures.Select(f => f.Failure.Outcome).ToList();
        if (failures.Count < deployments.Count)
        {
            outcomes.Add(AttemptOutcome.TotalTimeout);
        }

        var retryAfter = failures.Select(f => f.Failure.RetryAfter).Where(r => r is not null).Min();
        var (reason, status) = outcomes.All(o => o is AttemptOutcome.RateLimited or AttemptOutcome.RpmExhausted)
            ? (RoutingFailure.RateLimited, StatusCodes.Status429TooManyRequests)
            : outcomes.All(o => o is AttemptOutcome.RateLimited or AttemptOutcome.RpmExhausted or AttemptOutcome.CircuitOpen or AttemptOutcome.Timeout or AttemptOutcome.TotalTimeout)
                ? (RoutingFailure.Unavailable, StatusCodes.Status503ServiceUnavailable)
                : (RoutingFailure.UpstreamError, StatusCodes.Status502BadGateway);

        var described = failures.Select(f => $"{f.Deployment.Name}: {Describe(f.Failure)}").ToList();
        if (failures.Count < deployments.Count)
        {
            described.Add(string.Create(
                CultureInfo.InvariantCulture, $"{deployments.Count - failures.Count} more not tried (time budget used up)"));
        }

        var message = reason == RoutingFailure.RateLimited
            ? $"Every deployment of model '{model}' is rate limited; retry later ({string.Join("; ", described)})."
            : $"No deployment of model '{model}' could answer ({string.Join("; ", described)}).";
        return new RoutingException(reason, status, message, reason is RoutingFailure.UpstreamError ? null : retryAfter, attempts, failures.LastOrDefault().Failure);
    }

    private static string Describe(AttemptFailure failure) => failure.Outcome switch
    {
        AttemptOutcome.CircuitOpen => "circuit open",
        AttemptOutcome.RpmExhausted => "requests-per-minute limit reached",
        AttemptOutcome.TotalTimeout => failure.Message,
        AttemptOutcome.Timeout => $"timed out ({failure.Message})",
        _ when failure.StatusCode is { } status => string.Create(CultureInfo.InvariantCulture, $"{failure.Outcome.Name()} {status}"),
        _ => failure.Outcome.Name(),
    };

    private IEnumerable<Measurement<int>> ObserveCircuits()
    {
        foreach (var (name, health) in _health)
        {
            yield return new Measurement<int>((int)health.State, new KeyValuePair<string, object?>(RoutingMetrics.DeploymentTag, name));
        }
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static async ValueTask DisposeQuietlyAsync(IAsyncDisposable disposable)
    {
        try
        {
            await disposable.DisposeAsync();
        }
#pragma warning disable CA1031 // the attempt's own failure is what matters; a failing dispose must not replace it
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>One routed call: the caller's token, the budget, and the attempts so far.</summary>
    private sealed class RoutedCall(long started, CancellationToken caller, CancellationToken budget)
    {
        public CancellationToken Caller { get; } = caller;

        public CancellationToken Budget { get; } = budget;

        public long Started { get; } = started;

        public List<RouteAttempt> Attempts { get; } = [];
    }

    /// <summary>The attempts of one routed call on one deployment.</summary>
    private sealed class DeploymentTry(RoutedCall routedCall, ChatDeployment deployment, DeploymentHealth health, IChatProvider provider, ChatCall call)
    {
        public RoutedCall RoutedCall { get; } = routedCall;

        public ChatDeployment Deployment { get; } = deployment;

        public DeploymentHealth Health { get; } = health;

        public ChatCall Call { get; } = call;

        public IChatProvider Provider { get; } = provider;

        public int Number { get; set; }
    }

    /// <summary>A stream's provider enumerator, positioned on its first delta, and the cancellation it runs under.</summary>
    private sealed record StreamStart(IAsyncEnumerator<ChatDelta> Enumerator, AttemptCancellation Cancellation);
}
