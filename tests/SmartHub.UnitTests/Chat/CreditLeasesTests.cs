using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Credits;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.UnitTests.Gateway;

namespace SmartHub.UnitTests.Chat;

/// <summary>
/// The lease algorithm of <see cref="CreditLeases"/> against an in-memory ledger that answers CoreService's batch wire
/// contract (balance checks, holds, captures). The graph-level behaviour, with the real ledger, is in the integration
/// tests (CreditLeaseTests).
/// </summary>
public sealed class CreditLeasesTests : IDisposable
{
    private static readonly Guid s_user = Guid.NewGuid();
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(10);
    private readonly ManualTimeProvider _clock = new();
    private readonly MemoryLedger _ledger = new(balance: 10_000);

    public void Dispose() => _ledger.Dispose();

    [Fact]
    public async Task Holds_share_one_lease_that_is_captured_for_what_they_cost_when_its_age_is_up()
    {
        var leases = Leases();

        var holds = new List<CreditHold>();
        for (var i = 0; i < 10; i++)
        {
            holds.Add(Held(await leases.HoldAsync(Request(10), CancellationToken.None)));
        }

        Assert.All(holds, h => Assert.True(h.Leased));
        Assert.Single(holds.Select(h => h.ReservationId).Distinct());
        Assert.Equal(640, _ledger.Reserved); // 64 x the first hold
        foreach (var hold in holds)
        {
            await leases.SettleAsync(hold, 3);
        }

        _clock.Advance(TimeSpan.FromSeconds(1));
        leases.Sweep(closeAll: false);
        await MemoryLedger.WaitIdleAsync(() => _ledger.Reserved == 0);
        Assert.Equal(10_000 - 30, _ledger.Balance);
        Assert.Equal((1, 1), (_ledger.Reserves, _ledger.Captures));
    }

    [Fact]
    public async Task A_lease_with_requests_in_flight_settles_when_the_last_one_does()
    {
        var leases = Leases();
        var first = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        var second = Held(await leases.HoldAsync(Request(10), CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(2));
        leases.Sweep(closeAll: false);
        var third = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        await leases.SettleAsync(first, 4);

        Assert.NotEqual(first.ReservationId, third.ReservationId); // the old lease took no new request
        Assert.Equal(0, _ledger.Captures);
        await leases.SettleAsync(second, null); // failed: costs nothing
        await MemoryLedger.WaitIdleAsync(() => _ledger.Captures == 1);
        Assert.Equal(10_000 - 4, _ledger.Balance);
        Assert.Equal(640, _ledger.Reserved); // the third request's lease
    }

    [Fact]
    public async Task A_lease_in_use_past_half_its_age_is_renewed_ahead_and_handed_over()
    {
        var leases = Leases();
        var first = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        await leases.SettleAsync(first, 1);

        _clock.Advance(TimeSpan.FromMilliseconds(150));
        var second = Held(await leases.HoldAsync(Request(10), CancellationToken.None)); // still young: no renewal
        Assert.Equal(1, _ledger.Reserves);
        _clock.Advance(TimeSpan.FromMilliseconds(400));
        var third = Held(await leases.HoldAsync(Request(10), CancellationToken.None)); // past half: served, and renewed ahead

        Assert.Equal(first.ReservationId, third.ReservationId);
        await MemoryLedger.WaitIdleAsync(() => _ledger.Reserves == 2);
        var fourth = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        Assert.NotEqual(first.ReservationId, fourth.ReservationId); // the successor took over
        await leases.SettleAsync(second, 2);
        await leases.SettleAsync(third, 3);
        await MemoryLedger.WaitIdleAsync(() => _ledger.Captures == 1); // the old lease settles when its last request does
        Assert.Equal(10_000 - 6, _ledger.Balance);
        await leases.SettleAsync(fourth, 4);
    }

    [Fact]
    public async Task An_idle_lease_settles_before_its_age_is_up()
    {
        var leases = Leases();
        var hold = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        await leases.SettleAsync(hold, 5);

        _clock.Advance(TimeSpan.FromMilliseconds(100));
        leases.Sweep(closeAll: false);
        Assert.Equal(0, _ledger.Captures);
        _clock.Advance(TimeSpan.FromMilliseconds(150));
        leases.Sweep(closeAll: false);
        await MemoryLedger.WaitIdleAsync(() => _ledger.Captures == 1);
        Assert.Equal((10_000 - 5, 0), (_ledger.Balance, _ledger.Reserved));
    }

    [Fact]
    public async Task A_refused_lease_falls_back_to_one_reservation_per_request_for_a_while()
    {
        using var poor = new MemoryLedger(balance: 500);
        var leases = Leases(poor);

        var first = Held(await leases.HoldAsync(Request(100), CancellationToken.None)); // a lease of 6,400 is refused
        var second = Held(await leases.HoldAsync(Request(100), CancellationToken.None));

        Assert.False(first.Leased);
        Assert.False(second.Leased);
        Assert.Equal((1, 2), (poor.Refusals, poor.Reserves - poor.Refusals));
        Assert.Equal(200, poor.Reserved);
        await leases.SettleAsync(first, 60);
        await MemoryLedger.WaitIdleAsync(() => poor.Captures == 1);
        Assert.Equal(440, poor.Balance);

        // After the backoff a lease is tried again, sized to half of what the user could hold when last seen.
        _clock.Advance(TimeSpan.FromSeconds(6));
        var third = Held(await leases.HoldAsync(Request(100), CancellationToken.None));
        Assert.True(third.Leased);
        Assert.Equal(100 + 200, poor.Reserved); // the second request's own 100, and a lease of 400 / 2 (what it could hold, halved)
    }

    [Fact]
    public async Task A_request_is_refused_as_the_ledger_refuses_it()
    {
        using var broke = new MemoryLedger(balance: 50);
        var leases = Leases(broke);

        var result = await leases.HoldAsync(Request(100), CancellationToken.None);

        Assert.Null(result.Hold);
        Assert.Equal(402, result.Refusal!.Status);
    }

    [Fact]
    public async Task Disabled_leases_reserve_for_each_request()
    {
        var leases = Leases(options: new CreditLeaseOptions { Enabled = false });

        var first = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        var second = Held(await leases.HoldAsync(Request(10), CancellationToken.None));

        Assert.NotEqual(first.ReservationId, second.ReservationId);
        Assert.Equal(20, _ledger.Reserved);
        await leases.SettleAsync(first, 7);
        Assert.Equal(10_000 - 7, _ledger.Balance);
    }

    [Fact]
    public async Task Stopping_settles_every_idle_lease()
    {
        var leases = Leases();
        var hold = Held(await leases.HoldAsync(Request(10), CancellationToken.None));
        await leases.SettleAsync(hold, 2);

        await leases.StopAsync(CancellationToken.None);

        Assert.Equal((10_000 - 2, 0), (_ledger.Balance, _ledger.Reserved));
    }

    private CreditLeases Leases(MemoryLedger? ledger = null, CreditLeaseOptions? options = null)
    {
        var client = new CreditsClient(() => new HttpClient(ledger ?? _ledger, disposeHandler: false), new CreditsClientOptions { CoreUri = new Uri("http://core") }, new string('t', 32));
        var settlements = new Settlements(client, new ChatServiceOptions(), _clock, NullLogger<Settlements>.Instance);
        return new CreditLeases(client, settlements, options ?? new CreditLeaseOptions(), _clock, NullLogger<CreditLeases>.Instance);
    }

    private static HoldRequest Request(long amount) => new(s_user, null, amount, "chatcmpl-" + Guid.NewGuid().ToString("N"), s_timeout);

    private static CreditHold Held(HoldResult result) =>
        result.Hold ?? throw new Xunit.Sdk.XunitException($"refused: {result.Refusal?.Status} {result.Refusal?.Problem?.Detail}");

    /// <summary>One account's ledger in memory, answering <c>POST /internal/credits/batch</c> as CoreService does.</summary>
    private sealed class MemoryLedger(long balance) : HttpMessageHandler
    {
        private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
        private readonly Dictionary<Guid, (long Amount, string Status)> _reservations = [];
        private readonly object _gate = new();

        public long Balance { get { lock (_gate) { return balance; } } }

        public long Reserved { get { lock (_gate) { return _reservations.Values.Where(r => r.Status == "held").Sum(r => r.Amount); } } }

        public int Reserves { get; private set; }

        public int Refusals { get; private set; }

        public int Captures { get; private set; }

        /// <summary>Settlements run in the background: waits (bounded) until <paramref name="done"/>.</summary>
        public static async Task WaitIdleAsync(Func<bool> done)
        {
            for (var i = 0; i < 200 && !done(); i++)
            {
                await Task.Delay(10);
            }

            Assert.True(done(), "the ledger did not reach the expected state");
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var batch = (await request.Content!.ReadFromJsonAsync<CreditBatchRequest>(s_json, cancellationToken))!;
            var results = new List<CreditOperationResult>();
            lock (_gate)
            {
                foreach (var operation in batch.Operations!)
                {
                    results.Add(Apply(operation));
                }
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new CreditBatchResponse(results), options: s_json) };
        }

        private CreditOperationResult Apply(CreditOperation operation)
        {
            var held = _reservations.Values.Where(r => r.Status == "held").Sum(r => r.Amount);
            if (operation.Reserve is { } reserve)
            {
                Reserves++;
                if (balance - held < reserve.Amount)
                {
                    Refusals++;
                    return new CreditOperationResult(402, Problem: new() { Status = 402, Detail = "Insufficient credits." });
                }

                var id = Guid.NewGuid();
                _reservations[id] = (reserve.Amount!.Value, "held");
                var available = balance - held - reserve.Amount.Value;
                return new CreditOperationResult(201, Reservation: new ReservationResponse(
                    id, "held", reserve.UserId!.Value, reserve.Amount.Value, DateTimeOffset.UtcNow.AddMinutes(10), balance, held + reserve.Amount.Value, available, false));
            }

            var (reservationId, charge) = operation.Capture is { } capture ? (capture.ReservationId!.Value, capture.ActualAmount!.Value) : (operation.Release!.ReservationId!.Value, 0L);
            var reservation = _reservations[reservationId];
            _reservations[reservationId] = (reservation.Amount, operation.Capture is null ? "released" : "captured");
            if (operation.Capture is not null)
            {
                Captures++;
                balance -= charge;
            }

            return new CreditOperationResult(200, Settlement: new SettlementResponse(
                reservationId, "settled", s_user, reservation.Amount, charge, balance, held - reservation.Amount, balance - held + reservation.Amount, false));
        }
    }
}
