using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// The requests-per-minute budget of each deployment (<see cref="ChatDeployment.RequestsPerMinute"/>), shared by every
/// replica of the hub. The router asks once per attempt, only for deployments that have a limit.
/// </summary>
public interface IRpmLimiter
{
    /// <summary>
    /// Takes one request from the deployment's budget. Refused: the budget is used up, and
    /// <see cref="RpmDecision.RetryAfter"/> says when a request is next allowed. Implementations fail open (allow) when
    /// their store is unreachable: the provider's own limit still protects it.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    ValueTask<RpmDecision> TryAcquireAsync(ChatDeployment deployment, CancellationToken cancellationToken);
}

/// <summary>An RPM decision: allowed, or refused with the time until a request is next allowed.</summary>
public readonly record struct RpmDecision(bool Allowed, TimeSpan? RetryAfter = null)
{
    public static RpmDecision Allow { get; } = new(true);

    public static RpmDecision Refuse(TimeSpan retryAfter) => new(false, retryAfter);
}
