namespace SmartHub.McpServer.Routing;

/// <summary>
/// One attempt failed (or its deployment was skipped), classified. Internal to the router: it travels through the Polly
/// pipelines (the retry decides on <see cref="Retryable"/>, the circuit breaker counts
/// <see cref="AttemptOutcomes.CountsAgainstDeployment"/>) and never reaches the caller.
/// </summary>
#pragma warning disable CA1032, CA1064 // not a public exception: the router creates and catches it
internal sealed class AttemptFailure : Exception
#pragma warning restore CA1032, CA1064
{
    public AttemptFailure(AttemptOutcome outcome, string message, int? statusCode = null, TimeSpan? retryAfter = null, bool retryable = false, Exception? innerException = null)
        : base(message, innerException)
    {
        Outcome = outcome;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Retryable = retryable;
    }

    public AttemptOutcome Outcome { get; }

    public int? StatusCode { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether another attempt on the same deployment may succeed and is worth waiting for.</summary>
    public bool Retryable { get; }
}
