using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Routing;

/// <summary>How one attempt on one deployment ended (or why the deployment was skipped).</summary>
public enum AttemptOutcome
{
    /// <summary>The deployment answered (for a stream: its first delta arrived).</summary>
    Succeeded,

    /// <summary>A transient upstream failure: 5xx, 408, 409, a connection failure. Retried, counted by the circuit breaker.</summary>
    UpstreamError,

    /// <summary>The upstream answered 429. Retried (Retry-After honoured up to <see cref="RouterOptions.MaxRetryDelay"/>), counted by the circuit breaker.</summary>
    RateLimited,

    /// <summary>The attempt exceeded the deployment's timeout. Retried, counted by the circuit breaker.</summary>
    Timeout,

    /// <summary>
    /// A non-transient failure that is the deployment's fault (401, 403, 404, other 4xx, a malformed answer, no provider
    /// for its type): not retried, the next deployment is tried at once; counted by the circuit breaker.
    /// </summary>
    DeploymentError,

    /// <summary>400, 413 or 422: the request's own fault. Routing stops; the error goes back to the caller as it is.</summary>
    RequestRejected,

    /// <summary>Skipped: the deployment's circuit is open (recent attempts mostly failed).</summary>
    CircuitOpen,

    /// <summary>Skipped: the deployment's requests-per-minute budget (shared by all replicas) is used up.</summary>
    RpmExhausted,

    /// <summary>The caller canceled (client disconnect). Never a deployment failure; nothing more is tried.</summary>
    Canceled,

    /// <summary><see cref="RouterOptions.TotalTimeout"/> ran out during this attempt or its backoff.</summary>
    TotalTimeout,
}

/// <summary>
/// One attempt (or skip) of a routed call: the deployment's name ("provider/upstream-model"), its attempt number on
/// that deployment (1 = first), how it ended, the upstream status when there was one, how long it took, a message safe
/// to show (never a key), and the Retry-After that came with it.
/// </summary>
public sealed record RouteAttempt(
    string Deployment,
    int Attempt,
    AttemptOutcome Outcome,
    int? StatusCode,
    TimeSpan Duration,
    string? Error = null,
    TimeSpan? RetryAfter = null);

/// <summary>A non-streaming call's answer, the deployment that gave it, and every attempt made on the way (in order).</summary>
public sealed record RoutedCompletion(ChatCompletion Completion, ChatDeployment Deployment, IReadOnlyList<RouteAttempt> Attempts)
{
    /// <summary>True when a deployment other than the one that answered was tried (or skipped) first.</summary>
    public bool FellBack => Attempts.Any(a => a.Deployment != Deployment.Name);
}

internal static class AttemptOutcomes
{
    /// <summary>The outcome as it appears in metrics, traces and logs (snake_case).</summary>
    public static string Name(this AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.Succeeded => "succeeded",
        AttemptOutcome.UpstreamError => "upstream_error",
        AttemptOutcome.RateLimited => "rate_limited",
        AttemptOutcome.Timeout => "timeout",
        AttemptOutcome.DeploymentError => "deployment_error",
        AttemptOutcome.RequestRejected => "request_rejected",
        AttemptOutcome.CircuitOpen => "circuit_open",
        AttemptOutcome.RpmExhausted => "rpm_exhausted",
        AttemptOutcome.Canceled => "canceled",
        AttemptOutcome.TotalTimeout => "total_timeout",
        _ => "unknown",
    };

    /// <summary>Failures the circuit breaker counts against the deployment.</summary>
    public static bool CountsAgainstDeployment(this AttemptOutcome outcome) =>
        outcome is AttemptOutcome.UpstreamError or AttemptOutcome.RateLimited or AttemptOutcome.Timeout or AttemptOutcome.DeploymentError;
}
