namespace SmartHub.McpServer.Routing;

/// <summary>
/// The cancellation of one attempt: its own timer (the deployment's timeout, on the injected <see cref="TimeProvider"/>),
/// the caller's token and the routing budget (<see cref="RouterOptions.TotalTimeout"/>). A stream keeps it after its
/// first delta with the budget detached, so the deployment's timeout then bounds the stream to its last token.
/// Unlike a linked token source it tells which of the three canceled.
/// </summary>
internal sealed class AttemptCancellation : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationToken _caller;
    private CancellationTokenRegistration _callerRegistration;
    private CancellationTokenRegistration _budgetRegistration;
    private volatile bool _budgetCanceled;
    private int _disposed;

    public AttemptCancellation(TimeSpan timeout, TimeProvider timeProvider, CancellationToken caller, CancellationToken budget)
    {
        _source = new CancellationTokenSource(timeout, timeProvider);
        _caller = caller;
        _callerRegistration = caller.UnsafeRegister(static state => ((AttemptCancellation)state!).Cancel(), this);
        _budgetRegistration = budget.UnsafeRegister(
            static state =>
            {
                var self = (AttemptCancellation)state!;
                self._budgetCanceled = true;
                self.Cancel();
            },
            this);
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The caller canceled (client disconnect).</summary>
    public bool CallerCanceled => _caller.IsCancellationRequested;

    /// <summary>The routing budget ran out (and the caller did not cancel).</summary>
    public bool BudgetExpired => _budgetCanceled && !CallerCanceled;

    /// <summary>The attempt's own timeout fired (neither the caller nor the budget canceled).</summary>
    public bool TimedOut => _source.IsCancellationRequested && !CallerCanceled && !_budgetCanceled;

    /// <summary>From now on the routing budget no longer cancels this attempt (a stream past its first delta).</summary>
    public void DetachBudget() => _budgetRegistration.Dispose();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Registrations first: Dispose waits for a callback in flight, so none can touch the source once it is disposed.
        _callerRegistration.Dispose();
        _budgetRegistration.Dispose();
        _source.Dispose();
    }

    private void Cancel()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
