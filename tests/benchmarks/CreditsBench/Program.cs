// Credits ledger benchmark driver; run it with tests/benchmarks/credits.sh, which starts the hub and passes these options.
using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using SmartHub.Benchmarks.CreditsBench;
using SmartHub.ServiceDefaults.Credits;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = BenchOptions.Parse(args);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
var ct = stop.Token;

// Connections: one per worker, kept open (the pool is not the thing measured).
using var handler = new SocketsHttpHandler
{
    UseProxy = false,
    UseCookies = false,
    AllowAutoRedirect = false,
    MaxConnectionsPerServer = 1024,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
};
using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(120) };
// The baseline's pool has the settings of CoreService's ledger pool (CreditsExtensions.BuildLedgerDataSource) but its
// size: at most 64 connections (CoreService's: 32, Credits:LedgerMaxPoolSize), so the baseline is not held back by
// it up to 64 workers; PostgreSQL here takes 200 for every service; above 64 workers, the rest wait in the pool.
await using var coreDb = NpgsqlDataSource.Create(
    options.ConnectionString("coredb") + ";No Reset On Close=true;Max Auto Prepare=32;Maximum Pool Size=64;" + options.DbOptions);
var cpu = new CpuSampler(options.Pids);

var idle = cpu.Take();
await Task.Delay(TimeSpan.FromSeconds(2), ct);
var before = CpuSampler.Between(idle, cpu.Take());
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[..3].Aggregate((a, b) => $"{a} {b}")}, " +
    $"busy before the run {200 - before.PercentOfCore["idle"]:0}% of {Environment.ProcessorCount * 100}% (another tenant's work shows here)");

// Setup (not measured): 1,000 users plus the hot one, each with a budget.
var runId = Guid.NewGuid().ToString("N")[..8];
var setupClock = System.Diagnostics.Stopwatch.StartNew();
var ids = await Setup.CreateUsersAsync(options, options.Users + 1, runId, ct);
var users = ids[..options.Users];
var hotUser = ids[^1];
await Setup.GrantAsync(options, http, ids, ct);
Console.WriteLine($"setup: {ids.Length:N0} users inserted into authdb, accounts opened by {ids.Length:N0} admin grants through the gateway, in {setupClock.Elapsed.TotalSeconds:0.0} s");

var runner = new LoadRunner(users, hotUser, cpu);
var httpClient = new HttpPairClient(http, options.Core, options.InternalToken, runId);
var dbClient = new DbPairClient(coreDb, runId);
var timing = new TimingHandler(handler);
using var creditsHttp = new HttpClient(timing, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(120) };
var creditsClient = new CreditsClient(
    () => creditsHttp, new CreditsClientOptions { CoreUri = options.Core, MaxConcurrentRequests = options.ClientRequests, MaxBatchSize = options.ClientBatch }, options.InternalToken);
var batchingClient = new BatchingPairClient(creditsClient, runId);
IPairClient Client(Mode mode) => mode switch
{
    Mode.ClientUsers or Mode.ClientHot => batchingClient,
    Mode.HttpUsers or Mode.HttpHot => httpClient,
    _ => dbClient,
};
var duration = TimeSpan.FromSeconds(options.Seconds);
var allFailures = new List<Measurement>();

// Warm-up: with both cores busy the runtime's tier-1 JIT gets little CPU, so CoreService keeps speeding up for a while.
// HTTP and DB alternate for 5 s each at a middle concurrency until the HTTP rate rises by less than 5% (3 to 10 rounds;
// --min-warmup-rounds lowers the minimum for a hub that was just measured).
var warmWorkers = options.Workers[options.Workers.Count / 2];
var warmDuration = TimeSpan.FromSeconds(5);
var warm = new List<double>();
for (var i = 0; i < 10; i++)
{
    var c = await runner.RunAsync(Mode.ClientUsers, batchingClient, warmWorkers, warmDuration, ct);
    var h = await runner.RunAsync(Mode.HttpUsers, httpClient, warmWorkers, warmDuration, ct);
    var d = await runner.RunAsync(Mode.DbUsers, dbClient, warmWorkers, warmDuration, ct);
    allFailures.AddRange(new[] { c, h, d }.Where(m => m.Failures > 0));
    warm.Add(h.PairsPerSecond);
    if (i + 1 >= options.MinWarmupRounds && (i == 0 || h.PairsPerSecond < warm[^2] * 1.05))
    {
        break;
    }
}

Console.WriteLine($"warm-up: {warm.Count} rounds of client-users + http-users + db-users x 5 s at {warmWorkers} workers: http {string.Join(" -> ", warm.Select(r => r.ToString("N0")))} pairs/s");
Console.WriteLine();
Console.WriteLine("CPU: % = percent of one core during the measurement (200 = this whole machine); µs = CPU microseconds per pair; steal = time");
Console.WriteLine("the hypervisor gave these CPUs to other VMs; other = busy time used by none of CoreService, PostgreSQL (all backends) and the");
Console.WriteLine("driver: kernel threads, the idle services, other work on this machine. '!' marks a measurement where steal + other > 25%:");
Console.WriteLine("something else was using the machine, so the figure is low.");
Console.WriteLine();
Console.WriteLine($"{"workers",7} {"round",5} {"mode",-12} {"pairs/s",8} {"p50 ms",7} {"p99 ms",7} | {"core%",5} {"pg%",5} {"drv%",5} {"steal%",6} {"other%",6} {"idle%",5} | {"core µs",7} {"pg µs",6} {"drv µs",6}");

var results = new List<(int Round, Measurement M)>();
foreach (var workers in options.Workers)
{
    for (var round = 1; round <= options.Rounds; round++)
    {
        foreach (var mode in options.Modes)
        {
            var sent = creditsClient.Sent;
            var (t0, n0) = (timing.Ticks, timing.Count);
            var m = await runner.RunAsync(mode, Client(mode), workers, duration, ct);
            var batchSize = creditsClient.Sent.Requests == sent.Requests ? string.Empty
                : $"  {(double)(creditsClient.Sent.Operations - sent.Operations) / (creditsClient.Sent.Requests - sent.Requests):0.0} operations per batch, {TimeSpan.FromTicks((timing.Ticks - t0) / Math.Max(1, timing.Count - n0)).TotalMilliseconds:0.00} ms per request";
            results.Add((round, m));
            if (m.Failures > 0)
            {
                allFailures.Add(m);
            }

            var c = m.Cpu.PercentOfCore;
            Console.WriteLine(
                $"{workers,7} {round,5} {mode.Name(),-12} {m.PairsPerSecond,8:N0} {m.P50Ms,7:0.00} {m.P99Ms,7:0.00} | " +
                $"{c.GetValueOrDefault("core"),5:0} {c.GetValueOrDefault("postgres"),5:0} {c.GetValueOrDefault("driver"),5:0} {c["steal"],6:0} {c["other"],6:0} {c["idle"],5:0} | " +
                $"{m.MicrosecondsPerPair("core"),7:0} {m.MicrosecondsPerPair("postgres"),6:0} {m.MicrosecondsPerPair("driver"),6:0}" +
                (Noisy(m) ? " !" : string.Empty) + batchSize +
                (m.Failures > 0 ? $"  FAILED PAIRS: {m.Failures}" : string.Empty));
        }
    }
}

static bool Noisy(Measurement m) => m.Cpu.PercentOfCore["steal"] + m.Cpu.PercentOfCore["other"] > 25;

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

double MedianOf(int workers, Mode mode, Func<Measurement, double> value) =>
    Median(results.Where(r => r.M.Workers == workers && r.M.Mode == mode).Select(r => value(r.M)));

// The ratio is the median of the rounds' own ratios (the two sides ran back to back), not a ratio of medians.
double Ratio(int workers, Mode httpMode, Mode dbMode) => Median(
    results.Where(r => r.M.Workers == workers && r.M.Mode == httpMode)
        .Join(results.Where(r => r.M.Workers == workers && r.M.Mode == dbMode), h => h.Round, d => d.Round, (h, d) => h.M.PairsPerSecond / d.M.PairsPerSecond));

Console.WriteLine();
Console.WriteLine($"Summary: medians of {options.Rounds} rounds of {options.Seconds} s per mode. client = CreditsClient, as McpServer calls the ledger");
Console.WriteLine("(overlapping calls share requests to /internal/credits/batch and transactions); http = one request per call; db = the SQL");
Console.WriteLine("functions straight from Npgsql, one transaction per call (the baseline). Ratios: median of the rounds' own ratios to db (the");
Console.WriteLine("modes ran back to back in each round). p50/p99 of one pair (reserve + capture) with the client; CPU µs per pair across users.");
foreach (var (label, client, single, db) in new[] { ("users", Mode.ClientUsers, Mode.HttpUsers, Mode.DbUsers), ("hot", Mode.ClientHot, Mode.HttpHot, Mode.DbHot) })
{
    if (!options.Modes.Contains(client) && !options.Modes.Contains(single) && !options.Modes.Contains(db))
    {
        continue;
    }

    Console.WriteLine();
    Console.WriteLine($"{label,-7} | {"client",7} {"http",7} {"db",7} | {"client/db",9} {"http/db",7} | {"p50 ms",7} {"p99 ms",7} | {"client: core µs",15} {"pg µs",6} {"drv µs",6} | {"http: core µs",13} {"pg µs",6} {"drv µs",6}");
    foreach (var workers in options.Workers)
    {
        string Rate(Mode mode) => options.Modes.Contains(mode) ? MedianOf(workers, mode, m => m.PairsPerSecond).ToString("N0") : "-";
        string Ms(Func<Measurement, double> value) => options.Modes.Contains(client) ? MedianOf(workers, client, value).ToString("0.0") : "-";
        string RatioOf(Mode a) => options.Modes.Contains(a) && options.Modes.Contains(db) ? $"{Ratio(workers, a, db) * 100:0}%" : "-";
        string Cpu(Mode mode, string group) => options.Modes.Contains(mode) ? MedianOf(workers, mode, m => m.MicrosecondsPerPair(group)).ToString("0") : "-";
        Console.WriteLine(
            $"{workers,7} | {Rate(client),7} {Rate(single),7} {Rate(db),7} | {RatioOf(client),9} {RatioOf(single),7} | {Ms(m => m.P50Ms),7} {Ms(m => m.P99Ms),7} | " +
            $"{Cpu(client, "core"),15} {Cpu(client, "postgres"),6} {Cpu(client, "driver"),6} | {Cpu(single, "core"),13} {Cpu(single, "postgres"),6} {Cpu(single, "driver"),6}");
    }
}

Console.WriteLine();
var noisy = results.Count(r => Noisy(r.M));
if (noisy > 0)
{
    Console.WriteLine($"{noisy} of {results.Count} measurements ran while something else took more than a quarter of a core ('!' above).");
}

var measured = options.Modes.Contains(Mode.ClientUsers) ? Mode.ClientUsers : options.Modes.Contains(Mode.HttpUsers) ? Mode.HttpUsers : (Mode?)null;
if (measured is { } target)
{
    var best = options.Workers.MaxBy(w => MedianOf(w, target, m => m.PairsPerSecond));
    var bestRate = MedianOf(best, target, m => m.PairsPerSecond);
    Console.WriteLine($"target >= 3,000 pairs/s across users over HTTP ({target.Name()}): best median {bestRate:N0} pairs/s at {best} workers: {(bestRate >= 3000 ? "met" : "NOT met")}");
}

// Checks: every pair answered 201 then 200; the ledger's own invariant; and, independently of it, the database holds
// exactly the pairs counted here and every benchmark account's balance is its grants minus 7 per captured pair.
Console.WriteLine();
var ok = true;
if (allFailures.Count > 0)
{
    ok = false;
    Console.WriteLine($"FAILED: {allFailures.Sum(m => m.Failures)} pairs did not answer 201 then 200. First errors:");
    foreach (var e in allFailures.SelectMany(m => m.Errors).Take(10))
    {
        Console.WriteLine($"  {e}");
    }
}

using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Core, "/internal/credits/check")))
{
    request.Headers.TryAddWithoutValidation("X-Internal-Token", options.InternalToken);
    using var response = await http.SendAsync(request, ct);
    var body = await response.Content.ReadAsStringAsync(ct);
    using var check = JsonDocument.Parse(body);
    var violations = response.StatusCode == HttpStatusCode.OK ? check.RootElement.GetProperty("violations").GetArrayLength() : -1;
    if (violations != 0)
    {
        ok = false;
        Console.WriteLine($"FAILED: ledger invariant: GET /internal/credits/check answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 2000)]}");
    }
    else
    {
        Console.WriteLine($"ledger invariant holds: {check.RootElement.GetProperty("accounts").GetInt64():N0} accounts, {check.RootElement.GetProperty("entries").GetInt64():N0} entries, 0 violations");
    }
}

await using (var count = coreDb.CreateCommand(
    """
    SELECT count(*) FILTER (WHERE request_id LIKE $2 || '%' AND status = 'captured' AND captured = $1),
           count(*) FILTER (WHERE request_id LIKE $3 || '%' AND status = 'captured' AND captured = $1),
           count(*) FILTER (WHERE request_id LIKE $4 || '%' AND status = 'captured' AND captured = $1),
           count(*) FILTER (WHERE NOT (status = 'captured' AND captured = $1))
    FROM credit_reservations WHERE request_id LIKE $2 || '%' OR request_id LIKE $3 || '%' OR request_id LIKE $4 || '%'
    """))
{
    count.CommandTimeout = 300;
    count.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Pair.Capture });
    count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = httpClient.RequestIdPrefix });
    count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = dbClient.RequestIdPrefix });
    count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = batchingClient.RequestIdPrefix });
    await using var reader = await count.ExecuteReaderAsync(ct);
    await reader.ReadAsync(ct);
    var (httpRows, dbRows, clientRows, otherRows) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    var (httpPairs, dbPairs, clientPairs) = (
        runner.CompletedByPrefix.GetValueOrDefault(httpClient.RequestIdPrefix),
        runner.CompletedByPrefix.GetValueOrDefault(dbClient.RequestIdPrefix),
        runner.CompletedByPrefix.GetValueOrDefault(batchingClient.RequestIdPrefix));
    if (httpRows != httpPairs || dbRows != dbPairs || clientRows != clientPairs || (allFailures.Count == 0 && otherRows != 0))
    {
        ok = false;
        Console.WriteLine($"FAILED: the database holds {clientRows:N0} client, {httpRows:N0} HTTP and {dbRows:N0} direct captured reservations of 7 and {otherRows:N0} others; counted {clientPairs:N0}, {httpPairs:N0} and {dbPairs:N0} pairs");
    }
    else
    {
        Console.WriteLine($"every counted pair is one captured reservation of {Pair.Capture} in the database: {clientPairs:N0} with the client, {httpPairs:N0} one request per call, {dbPairs:N0} direct");
    }
}

await using (var balances = coreDb.CreateCommand(
    """
    WITH granted AS (SELECT user_id, sum(amount) AS amount FROM credit_entries
                     WHERE kind = 'grant' AND user_id = ANY($1) GROUP BY user_id),
         spent AS (SELECT user_id, sum(captured) AS amount FROM credit_reservations
                   WHERE status = 'captured' AND user_id = ANY($1) GROUP BY user_id)
    SELECT count(*) FROM credit_accounts a LEFT JOIN granted g USING (user_id) LEFT JOIN spent s USING (user_id)
    WHERE a.user_id = ANY($1) AND (a.reserved <> 0 OR a.balance <> coalesce(g.amount, 0) - coalesce(s.amount, 0))
    """))
{
    balances.CommandTimeout = 300;
    balances.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
    var wrong = (long)(await balances.ExecuteScalarAsync(ct))!;
    if (wrong != 0)
    {
        ok = false;
        Console.WriteLine($"FAILED: {wrong} benchmark accounts do not hold their grants minus their captures, or still hold a reservation");
    }
    else
    {
        Console.WriteLine($"all {ids.Length:N0} benchmark accounts hold exactly their grants minus their captures, nothing reserved");
    }
}

return ok ? 0 : 1;

/// <summary>Counts the requests CreditsClient sends and the time they take (mean latency of a batch).</summary>
internal sealed class TimingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private long _ticks;
    private long _count;

    public long Ticks => Interlocked.Read(ref _ticks);

    public long Count => Interlocked.Read(ref _count);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        Interlocked.Add(ref _ticks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
        Interlocked.Increment(ref _count);
        return response;
    }
}
