using System.Collections.Concurrent;
using SmartHub.McpServer.Chat;
using SmartHub.ServiceDefaults.Credits;

namespace SmartHub.McpServer.Credits;

/// <summary>What one request asks to hold: the most it can cost, and how long it may run.</summary>
public sealed record HoldRequest(Guid UserId, Guid? ApiKeyId, long Amount, string RequestId, TimeSpan Timeout);

/// <summary>Credits held for one request: a share of a lease, or a reservation of its own. Settled exactly once.</summary>
public sealed class CreditHold
{
    internal CreditHold(Guid reservationId, long amount, CreditLease? lease)
    {
        ReservationId = reservationId;
        Amount = amount;
        Lease = lease;
    }

    /// <summary>The ledger reservation that pays for the request (the lease's, when leased).</summary>
    public Guid ReservationId { get; }

    public long Amount { get; }

    public bool Leased => Lease is not null;

    internal CreditLease? Lease { get; }
}

/// <summary>A hold, or the ledger's refusal (402 insufficient credits or a cap, 404 no account, 5xx).</summary>
public readonly record struct HoldResult(CreditHold? Hold, CreditAnswer<ReservationResponse>? Refusal);

/// <summary>
/// Credit leases: one ledger reservation that pays for many requests of one user and API key, like the quota grants of
/// telecom online charging. Reserving and capturing per request costs CoreService and PostgreSQL two transactions on the
/// user's account row for every request, most of a request's whole cost in the graph (measured: without them the hub
/// answers ~4x the requests per second). A lease is one reservation of <see cref="CreditLeaseOptions.Factor"/> times
/// the opening request's hold; each request takes its own hold (prompt plus output limit) from what the lease has left
/// and gives back what it did not spend; the lease takes requests for <see cref="CreditLeaseOptions.MaxAge"/> (or until
/// idle), then is captured for the sum of what its requests cost, and the rest is released. A lease past half its age
/// that is still in use has its successor reserved ahead, so that requests do not wait for the ledger at the handover.
/// <para>
/// Limits still hold everywhere: a lease is an ordinary reservation, checked against the balance and the user's and the
/// key's monthly caps, so replicas with leases of the same user can never spend more than the user has. A lease is sized
/// to at most half of what the user could hold when last seen; one the ledger refuses (low balance, a cap) makes the
/// user's requests reserve one by one (exactly as without leases) for <see cref="CreditLeaseOptions.RefusalBackoff"/>.
/// </para>
/// <para>
/// Nothing is lost: a request's usage record names the lease's reservation, so if this process dies holding a lease,
/// the ledger's expiry charges the reservation for what its requests cost (from their records) instead of releasing it
/// (CoreService Migrations/0005_credit_leases.sql). A capture CoreService cannot take now is retried by
/// <see cref="Settlements"/>. The cost: a user's balance shows a request's charge when its lease settles (within about
/// <see cref="CreditLeaseOptions.MaxAge"/>), and held credits meanwhile.
/// </para>
/// </summary>
public sealed partial class CreditLeases(
    CreditsClient credits, Settlements settlements, CreditLeaseOptions options, TimeProvider timeProvider, ILogger<CreditLeases> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(Guid UserId, Guid? ApiKeyId), LeaseAccount> _accounts = new();
    private readonly ConcurrentDictionary<Guid, Task> _settling = new();

    /// <summary>
    /// Holds <see cref="HoldRequest.Amount"/> for a request: from the user's open lease, from a new one, or in a
    /// reservation of its own. <paramref name="cancellationToken"/> is honoured only before anything is held: a ledger
    /// call in flight is never abandoned (it could land and hold credits nobody settles).
    /// </summary>
    public async Task<HoldResult> HoldAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.Amount);
        cancellationToken.ThrowIfCancellationRequested();
        if (!options.Enabled)
        {
            return await ReserveOwnAsync(request, null).ConfigureAwait(false);
        }

        var account = Account(request);
        for (var attempt = 0; attempt < 4; attempt++)
        {
            if (Volatile.Read(ref account.Removed))
            {
                account = Account(request);
            }

            Task<CreditLease?> opening;
            CreditLease? retired = null;
            lock (account)
            {
                if (account.Removed)
                {
                    continue; // Forgotten by the sweep just now: the next attempt looks it up again.
                }

                var now = timeProvider.GetTimestamp();
                account.LastTouched = now;
                if (account.Current is { } lease)
                {
                    if (TryTake(lease, request, now))
                    {
                        if (account.Opening is null && now >= account.OwnUntil && timeProvider.GetElapsedTime(lease.OpenedAt, now) >= options.MaxAge / 2)
                        {
                            // Renewal ahead: the next lease is reserved while this one still serves, so that no request
                            // waits for the ledger when this one closes. It replaces this one when it is held.
                            account.Opening = OpenAsync(account, request);
                            ObserveRenewal(account.Opening);
                        }

                        return new HoldResult(new CreditHold(lease.ReservationId, request.Amount, lease), null);
                    }

                    if (account.Opening is null)
                    {
                        account.Current = null;
                        retired = Close(lease);
                    }
                }

                if (account.Opening is null && now < account.OwnUntil)
                {
                    break;
                }

                account.Opening ??= OpenAsync(account, request);
                opening = account.Opening;
            }

            Settle(retired);
            if (await opening.ConfigureAwait(false) is null)
            {
                break; // Refused: this request reserves alone.
            }
        }

        return await ReserveOwnAsync(request, account).ConfigureAwait(false);
    }

    /// <summary>Settles a hold: charges <paramref name="cost"/> (at most the hold), or nothing when null.</summary>
    public async Task SettleAsync(CreditHold hold, long? cost)
    {
        ArgumentNullException.ThrowIfNull(hold);
        if (hold.Lease is not { } lease)
        {
            await settlements.SettleAsync(
                cost is { } amount
                    ? new CreditOperation(Capture: new CaptureRequest(hold.ReservationId, amount))
                    : new CreditOperation(Release: new ReleaseRequest(hold.ReservationId)),
                CancellationToken.None).ConfigureAwait(false);
            return;
        }

        CreditLease? done = null;
        lock (lease.Account)
        {
            var charged = Math.Clamp(cost ?? 0, 0, hold.Amount);
            lease.InFlight--;
            lease.Accrued += charged;
            lease.Available += hold.Amount - charged;
            lease.LastUsed = timeProvider.GetTimestamp();
            if (lease.Closed && lease.InFlight == 0 && !lease.Settled)
            {
                lease.Settled = true;
                done = lease;
            }
        }

        Settle(done);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Sweep(closeAll: false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>At shutdown every lease is closed; the idle ones are settled now, the others when their last request ends.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Sweep(closeAll: true);
        try
        {
            await Task.WhenAll(_settling.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogUnsettledAtStop(logger, _settling.Count);
        }
    }

    /// <summary>Closes leases past their age or idle, and forgets accounts unused for a while.</summary>
    internal void Sweep(bool closeAll)
    {
        var now = timeProvider.GetTimestamp();
        var forget = options.RefusalBackoff > TimeSpan.FromMinutes(1) ? options.RefusalBackoff : TimeSpan.FromMinutes(1);
        foreach (var (key, account) in _accounts)
        {
            CreditLease? closed = null;
            var remove = false;
            lock (account)
            {
                if (account.Current is { } lease
                    && (closeAll
                        || timeProvider.GetElapsedTime(lease.OpenedAt, now) >= options.MaxAge
                        || (lease.InFlight == 0 && timeProvider.GetElapsedTime(lease.LastUsed, now) >= options.IdleTime)))
                {
                    account.Current = null;
                    closed = Close(lease);
                }

                if (account.Current is null && account.Opening is null && timeProvider.GetElapsedTime(account.LastTouched, now) >= forget)
                {
                    Volatile.Write(ref account.Removed, true);
                    remove = true;
                }
            }

            Settle(closed);
            if (remove)
            {
                _accounts.TryRemove(KeyValuePair.Create(key, account));
            }
        }
    }

    private LeaseAccount Account(HoldRequest request) =>
        _accounts.GetOrAdd((request.UserId, request.ApiKeyId), static key => new LeaseAccount(key.UserId, key.ApiKeyId));

    /// <summary>Takes <see cref="HoldRequest.Amount"/> from the lease if it is open, young, has room and outlives the request.</summary>
    private bool TryTake(CreditLease lease, HoldRequest request, long now)
    {
        if (lease.Closed
            || lease.Available < request.Amount
            || timeProvider.GetElapsedTime(lease.OpenedAt, now) >= options.MaxAge
            || timeProvider.GetUtcNow() + request.Timeout > lease.Deadline)
        {
            return false;
        }

        lease.Available -= request.Amount;
        lease.InFlight++;
        lease.Requests++;
        lease.LastUsed = now;
        return true;
    }

    /// <summary>Marks the lease closed (caller holds its account's lock); returns it when it is ready to settle.</summary>
    private static CreditLease? Close(CreditLease lease)
    {
        lease.Closed = true;
        if (lease.InFlight > 0 || lease.Settled)
        {
            return null;
        }

        lease.Settled = true;
        return lease;
    }

    private async Task<CreditLease?> OpenAsync(LeaseAccount account, HoldRequest request)
    {
        await Task.Yield(); // Runs after the caller stored the task as the account's opening.
        var amount = request.Amount > long.MaxValue / options.Factor ? long.MaxValue : request.Amount * options.Factor;
        long budget;
        lock (account)
        {
            budget = account.Budget;
        }

        if (budget >= 0)
        {
            amount = Math.Min(amount, Math.Max(request.Amount, budget / 2));
        }

        // Requests take holds until MaxAge, each running up to its own timeout: the lease must outlive the last of them.
        // The ledger gets a minute more, for its clock running ahead of this one.
        var timeout = options.MaxAge + request.Timeout;
        var opened = timeProvider.GetUtcNow();
        CreditAnswer<ReservationResponse> answer;
        try
        {
            answer = await credits.ReserveAsync(
                new ReserveRequest(account.UserId, account.ApiKeyId, amount, "lease:" + Guid.CreateVersion7().ToString("N"), TimeoutSeconds(timeout + TimeSpan.FromMinutes(1))),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            lock (account)
            {
                account.Opening = null;
            }

            throw;
        }

        lock (account)
        {
            account.Opening = null;
            if (answer.Value is not { } reservation)
            {
                account.OwnUntil = timeProvider.GetTimestamp() + (long)(options.RefusalBackoff.TotalSeconds * timeProvider.TimestampFrequency);
                account.Budget = -1;
                return null;
            }

            account.Budget = reservation.Available + amount;
            var now = timeProvider.GetTimestamp();
            var lease = new CreditLease(account, reservation.ReservationId, amount, now, opened + timeout);
            if (account.Current is { } previous)
            {
                Settle(Close(previous));
            }

            account.Current = lease;
            return lease;
        }
    }

    /// <summary>A renewal nobody awaits: its failure (CoreService down) is logged; the next request tries again.</summary>
    private void ObserveRenewal(Task<CreditLease?> renewal) =>
        renewal.ContinueWith(
            static (task, state) => LogRenewalFailed((ILogger)state!, task.Exception!.GetBaseException().Message),
            logger,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private async Task<HoldResult> ReserveOwnAsync(HoldRequest request, LeaseAccount? account)
    {
        var answer = await credits.ReserveAsync(
            new ReserveRequest(request.UserId, request.ApiKeyId, request.Amount, request.RequestId, TimeoutSeconds(request.Timeout)),
            CancellationToken.None).ConfigureAwait(false);
        if (answer.Value is not { } reservation)
        {
            return new HoldResult(null, answer);
        }

        if (account is not null)
        {
            lock (account)
            {
                account.Budget = reservation.Available + request.Amount;
            }
        }

        return new HoldResult(new CreditHold(reservation.ReservationId, request.Amount, null), null);
    }

    private static int TimeoutSeconds(TimeSpan timeout) => (int)Math.Ceiling(Math.Min(timeout.TotalSeconds, TimeSpan.FromDays(1).TotalSeconds));

    /// <summary>Captures what the lease's requests cost (releasing the rest), or releases it all, in the background.</summary>
    private void Settle(CreditLease? lease)
    {
        if (lease is null)
        {
            return;
        }

        _settling[lease.ReservationId] = SettleLeaseAsync(lease);
    }

    private async Task SettleLeaseAsync(CreditLease lease)
    {
        await Task.Yield(); // Runs after Settle stored the task.
        try
        {
            var operation = lease.Accrued > 0
                ? new CreditOperation(Capture: new CaptureRequest(lease.ReservationId, lease.Accrued))
                : new CreditOperation(Release: new ReleaseRequest(lease.ReservationId));
            await settlements.SettleAsync(operation, CancellationToken.None).ConfigureAwait(false);
            LogSettled(logger, lease.ReservationId, lease.Requests, lease.Accrued, lease.Amount);
        }
        catch (Exception exception)
        {
            LogSettleFailed(logger, exception, lease.ReservationId, lease.Accrued);
        }
        finally
        {
            _settling.TryRemove(lease.ReservationId, out _);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Credit lease {Reservation} settled: {Requests} requests cost {Accrued} of {Amount} credits")]
    private static partial void LogSettled(ILogger logger, Guid reservation, int requests, long accrued, long amount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Credit lease {Reservation} could not be settled ({Accrued} credits): the ledger's expiry charges it from its usage records")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, Guid reservation, long accrued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A credit lease could not be renewed ahead: {Reason}")]
    private static partial void LogRenewalFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped with {Count} credit leases still settling: the ledger's expiry charges them from their usage records")]
    private static partial void LogUnsettledAtStop(ILogger logger, int count);
}

/// <summary>One user's (and API key's) leases in this process. Every field is guarded by the object's lock.</summary>
internal sealed class LeaseAccount(Guid userId, Guid? apiKeyId)
{
    public Guid UserId => userId;

    public Guid? ApiKeyId => apiKeyId;

    /// <summary>The lease that takes requests now.</summary>
    public CreditLease? Current { get; set; }

    /// <summary>The lease being reserved: requests that arrive meanwhile wait for it.</summary>
    public Task<CreditLease?>? Opening { get; set; }

    /// <summary>Until this timestamp (after a refused lease) requests reserve one by one.</summary>
    public long OwnUntil { get; set; }

    /// <summary>What the user could hold when last seen (available before the last hold); -1 when unknown.</summary>
    public long Budget { get; set; } = -1;

    public long LastTouched { get; set; }

    /// <summary>Forgotten by the sweep: a request that finds it so looks the account up again.</summary>
    public bool Removed;
}

/// <summary>One lease: a reservation shared by requests. Every field is guarded by <see cref="Account"/>'s lock.</summary>
internal sealed class CreditLease(LeaseAccount account, Guid reservationId, long amount, long openedAt, DateTimeOffset deadline)
{
    public LeaseAccount Account { get; } = account;

    public Guid ReservationId { get; } = reservationId;

    public long Amount { get; } = amount;

    public long OpenedAt { get; } = openedAt;

    /// <summary>When the ledger may expire the reservation: a request that could run past it does not take a hold.</summary>
    public DateTimeOffset Deadline { get; } = deadline;

    /// <summary>What new holds may still take: the amount less open holds and what settled requests spent.</summary>
    public long Available { get; set; } = amount;

    /// <summary>What settled requests cost: the lease's capture.</summary>
    public long Accrued { get; set; }

    public int InFlight { get; set; }

    public int Requests { get; set; }

    public long LastUsed { get; set; } = openedAt;

    /// <summary>Takes no new holds.</summary>
    public bool Closed { get; set; }

    /// <summary>Handed to settlement (once).</summary>
    public bool Settled { get; set; }
}
