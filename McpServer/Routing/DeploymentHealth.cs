using Polly;
using Polly.CircuitBreaker;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// One deployment's circuit breaker (Polly), shared by every request of this process. The router asks
/// <see cref="IsBlocked"/> before spending anything on an attempt (an RPM slot, a connection), then runs the attempt
/// through <see cref="Pipeline"/>, which counts its outcome.
/// </summary>
internal sealed class DeploymentHealth
{
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeProvider _timeProvider;
    private long _openUntilTicks; // UTC ticks (TimeProvider) until which an open circuit rejects; Polly half-opens lazily after it

    public DeploymentHealth(string deployment, RouterOptions options, TimeProvider timeProvider, RoutingMetrics metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = deployment;
        _timeProvider = timeProvider;
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = _state,
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is AttemptFailure failure && failure.Outcome.CountsAgainstDeployment()),
                OnOpened = args =>
                {
                    Volatile.Write(ref _openUntilTicks, (_timeProvider.GetUtcNow() + args.BreakDuration).UtcTicks);
                    metrics.CircuitTransitions.Add(1, Tags("open"));
                    logger.LogWarning(
                        "Circuit for {Deployment} opened: too many failed attempts ({Reason}); it is skipped for {BreakSeconds} s, then one attempt probes it.",
                        Name,
                        args.Outcome.Exception?.Message,
                        args.BreakDuration.TotalSeconds);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    metrics.CircuitTransitions.Add(1, Tags("half_open"));
                    return default;
                },
                OnClosed = _ =>
                {
                    Volatile.Write(ref _openUntilTicks, 0);
                    metrics.CircuitTransitions.Add(1, Tags("closed"));
                    logger.LogInformation("Circuit for {Deployment} closed: the probe attempt succeeded.", Name);
                    return default;
                },
            })
            .Build();

        KeyValuePair<string, object?>[] Tags(string state) =>
            [new(RoutingMetrics.DeploymentTag, deployment), new(RoutingMetrics.StateTag, state)];
    }

    public string Name { get; }

    public ResiliencePipeline Pipeline { get; }

    public CircuitState State => _state.CircuitState;

    /// <summary>
    /// True when the deployment must be skipped: its circuit is open and the break has not elapsed (with the time left),
    /// or it is half-open with a probe already in flight, or isolated. An open circuit whose break has elapsed is not
    /// blocked: the next attempt goes through the pipeline, which half-opens it and lets that one probe.
    /// </summary>
    public bool IsBlocked(out TimeSpan? retryAfter)
    {
        retryAfter = null;
        switch (_state.CircuitState)
        {
            case CircuitState.Closed:
                return false;
            case CircuitState.Open:
                var left = new DateTimeOffset(Volatile.Read(ref _openUntilTicks), TimeSpan.Zero) - _timeProvider.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }

                retryAfter = left;
                return true;
            default:
                return true;
        }
    }
}
