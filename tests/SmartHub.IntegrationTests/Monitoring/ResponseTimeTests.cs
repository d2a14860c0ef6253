using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Monitoring;

/// <summary>
/// The response-time pipeline through the whole graph: the gateway's samples (real requests, or entries written to the
/// stream exactly as the gateway writes them, for known data) stored by CoreService and read back through the monitoring
/// API. Each test uses its own service name or endpoint, so tests never see each other's data.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class ResponseTimeTests(GraphFixture graph)
{
    private const string Stream = "telemetry:response-times";

    [Fact]
    public async Task Requests_through_the_gateway_are_reported_per_endpoint_with_tier_and_status_codes()
    {
        var user = await graph.NewUserAsync();
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("/api/v1/credits/balance");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var admin = await graph.AdminClientAsync();
        var endpoint = await EndpointWhenCountedAsync(admin, "service=core&method=GET", "/api/v1/credits/balance", atLeast: 5);
        Assert.Equal("high", endpoint.GetProperty("tier").GetString());
        Assert.Equal(1000, endpoint.GetProperty("thresholdMs").GetInt32());
        Assert.True(endpoint.GetProperty("statusCodes").GetProperty("200").GetInt64() >= 5);
        Assert.True(endpoint.GetProperty("p95Ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Percentiles_are_within_five_percent_of_a_reference_computation_and_the_average_is_exact()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        var random = new Random(42);
        var durations = Enumerable.Range(0, 2_000).Select(_ => Math.Round(Math.Exp(random.NextDouble() * 7), 3)).ToList(); // 1 ms to 1.1 s
        await using var redis = await RedisAsync();
        foreach (var chunk in durations.Chunk(256))
        {
            await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), [.. chunk.Select(d => Sample(service, "/api/v1/reports/monthly", d))]);
        }

        using var admin = await graph.AdminClientAsync();
        var endpoint = await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/reports/monthly", atLeast: durations.Count);
        Assert.Equal(durations.Count, endpoint.GetProperty("count").GetInt64());
        Assert.Equal("low", endpoint.GetProperty("tier").GetString());
        Assert.Equal(Math.Round(durations.Average(), 3), endpoint.GetProperty("averageMs").GetDouble(), 2);
        var sorted = durations.Order().ToList();
        foreach (var (name, q) in new[] { ("p50Ms", 0.5), ("p90Ms", 0.9), ("p95Ms", 0.95), ("p99Ms", 0.99) })
        {
            var exact = sorted[(int)Math.Ceiling(q * sorted.Count) - 1]; // nearest rank
            var measured = endpoint.GetProperty(name).GetDouble();
            Assert.True(Math.Abs(measured - exact) <= exact * 0.05, $"{name}: {measured} vs exact {exact}");
        }

        Assert.Equal(sorted[^1], endpoint.GetProperty("maxMs").GetDouble(), 3);
    }

    [Fact]
    public async Task Slow_requests_produce_violations_with_tier_threshold_and_measured_value()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using var redis = await RedisAsync();
        // A critical endpoint (auth: 500 ms) with 10% of its requests at 900 ms: its P95 is over the threshold.
        var samples = Enumerable.Range(0, 100).Select(i => Sample(service, "/auth/login", i % 10 == 0 ? 900 : 40)).ToList();
        await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), samples);

        using var admin = await graph.AdminClientAsync();
        JsonElement violation = default;
        await Poll.UntilAsync(
            async () =>
            {
                var list = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/violations?service={service}");
                var items = list.GetProperty("items").EnumerateArray().ToList();
                violation = items.FirstOrDefault();
                return items.Count > 0;
            },
            TimeSpan.FromSeconds(15),
            "the violation is reported");
        Assert.Equal("critical", violation.GetProperty("tier").GetString());
        Assert.Equal(500, violation.GetProperty("thresholdMs").GetInt32());
        Assert.True(violation.GetProperty("measuredP95Ms").GetDouble() > 500);
        Assert.Equal(10, violation.GetProperty("slowRequests").GetInt64());
        Assert.Equal("/auth/login", violation.GetProperty("endpoint").GetString());

        var overview = await admin.GetFromJsonAsync<JsonElement>("/api/v1/monitoring/overview?period=15m");
        Assert.True(overview.GetProperty("violations").GetInt64() >= 1);
        Assert.True(overview.GetProperty("totalRequests").GetInt64() >= 100);
    }

    [Fact]
    public async Task A_batch_written_twice_is_stored_once()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using var redis = await RedisAsync();
        var batch = Guid.NewGuid().ToString("N");
        List<Dictionary<string, object?>> samples = [.. Enumerable.Range(0, 7).Select(_ => Sample(service, "/api/v1/usage", 12))];

        await WriteBatchAsync(redis, batch, samples);
        await WriteBatchAsync(redis, batch, samples); // the gateway retried an XADD whose reply was lost

        using var admin = await graph.AdminClientAsync();
        await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage", atLeast: 7);
        await Task.Delay(1_000);
        var again = await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage", atLeast: 7);
        Assert.Equal(7, again.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Killing_CoreService_while_samples_arrive_loses_and_duplicates_none()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using var redis = await RedisAsync();
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), [.. Enumerable.Range(0, 50).Select(_ => Sample(service, "/api/v1/usage", 20))]);
                written += 50;
                await Task.Delay(20);
            }
        });

        await Task.Delay(500);
        Process.GetProcessById(graph.App.GetProcessIds()["core"]).Kill(); // perhaps between storing and acknowledging
        await Task.Delay(500);
        await graph.App.ResourceNotifications.WaitForResourceHealthyAsync("core").WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(300);
        await stop.CancelAsync();
        await writer;

        using var admin = await graph.AdminClientAsync();
        await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage", atLeast: written, timeout: TimeSpan.FromSeconds(30));
        await Task.Delay(1_500); // past the take-over delay: whatever was still pending has been handled
        var endpoint = await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage", atLeast: written);
        Assert.Equal(written, endpoint.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Baselines_are_exact_per_day_and_a_p95_far_above_its_baseline_is_flagged_degraded()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        var yesterday = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(-1).AddHours(12);
        await using var redis = await RedisAsync();
        var before = Enumerable.Range(1, 100).Select(i => (double)i).ToList(); // 1..100 ms
        await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), [.. before.Select(d => Sample(service, "/api/v1/usage/daily", d, new DateTimeOffset(yesterday, TimeSpan.Zero)))]);

        using var admin = await graph.AdminClientAsync();
        var day = yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        JsonElement baseline = default;
        await Poll.UntilAsync(
            async () =>
            {
                var items = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/baselines?day={day}&service={service}"))
                    .GetProperty("items").EnumerateArray().ToList();
                baseline = items.FirstOrDefault();
                return items.Count == 1;
            },
            TimeSpan.FromSeconds(20),
            "the baseline job computes yesterday's baseline");
        Assert.Equal(100, baseline.GetProperty("count").GetInt64());
        Assert.Equal(50.5, baseline.GetProperty("p50Ms").GetDouble(), 6); // percentile_cont: exact, interpolated
        Assert.Equal(95.05, baseline.GetProperty("p95Ms").GetDouble(), 6);
        Assert.Equal(50.5, baseline.GetProperty("averageMs").GetDouble(), 6);

        // Today three times slower: P95 ≈ 285 ms > 1.5 × 95 ms.
        await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), [.. before.Select(d => Sample(service, "/api/v1/usage/daily", d * 3))]);
        var endpoint = await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage/daily", atLeast: 100);
        Assert.True(endpoint.GetProperty("degraded").GetBoolean(), endpoint.ToString());
        Assert.Equal(95.05, endpoint.GetProperty("baselineP95Ms").GetDouble(), 3);
    }

    [Fact]
    public async Task Samples_older_than_the_retention_are_dropped_with_their_day()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        var batch = Guid.NewGuid().ToString("N");
        var old = DateTimeOffset.UtcNow.AddDays(-120);
        var partition = "response_time_samples_" + old.UtcDateTime.ToString("yyyy_MM_dd", CultureInfo.InvariantCulture);
        await using var redis = await RedisAsync();
        await using var coredb = Npgsql.NpgsqlDataSource.Create((await graph.App.GetConnectionStringAsync("coredb"))!);
        async Task<T> ScalarAsync<T>(string sql, object parameter)
        {
            await using var command = coredb.CreateCommand(sql);
            command.Parameters.AddWithValue(parameter);
            return (T)(await command.ExecuteScalarAsync())!;
        }

        // A sample from 120 days ago (a backlog): stored (its batch id is kept), then dropped with its day's partition and
        // its hourly rollup by the retention job (90 days; every 2 s in the tests).
        await WriteBatchAsync(redis, batch, [Sample(service, "/api/v1/usage/old", 10, old)]);

        await Poll.UntilAsync(
            async () => await ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM response_time_batches WHERE batch_id = $1)", batch)
                && !await ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", partition)
                && await ScalarAsync<long>("SELECT count(*) FROM response_time_rollups WHERE service = $1 AND grain IN ('m', 'h')", service) == 0,
            TimeSpan.FromSeconds(20),
            "the sample is stored, then its day's partition and its minute and hourly rollups are dropped");
        Assert.Equal(1, await ScalarAsync<long>("SELECT coalesce(sum(count), 0)::bigint FROM response_time_rollups WHERE service = $1 AND grain = 'd'", service));
    }

    [Theory]
    [InlineData("/api/v1/monitoring/overview?period=banana", "period")]
    [InlineData("/api/v1/monitoring/overview?period=1h&from=2026-01-01T00:00:00Z", "period")]
    [InlineData("/api/v1/monitoring/response-time/endpoints?sort=height", "sort")]
    [InlineData("/api/v1/monitoring/response-time/endpoints?limit=0", "limit")]
    [InlineData("/api/v1/monitoring/response-time/trends?bucket=7s", "bucket")]
    [InlineData("/api/v1/monitoring/response-time/baselines?day=yesterday", "day")]
    [InlineData("/api/v1/monitoring/overview?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    public async Task Bad_queries_are_400_naming_the_parameter(string url, string parameter)
    {
        using var admin = await graph.AdminClientAsync();

        using var response = await admin.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
    }

    [Fact]
    public async Task The_monitoring_api_needs_monitoring_read()
    {
        var user = await graph.NewUserAsync();
        using var anonymous = graph.Client();
        using var plain = graph.Client(bearer: user.Tokens.AccessToken);

        using var refused = await anonymous.GetAsync("/api/v1/monitoring/overview");
        using var forbidden = await plain.GetAsync("/api/v1/monitoring/response-time/endpoints");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task Compare_puts_services_endpoints_and_periods_side_by_side()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (fast, slow) = ("probe-fast-" + tag, "probe-slow-" + tag);
        var (one, two) = ($"/api/v1/usage/cmp-{tag}-a", $"/api/v1/usage/cmp-{tag}-b");
        await using var redis = await RedisAsync();
        await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"),
            [.. Enumerable.Range(0, 10).Select(_ => Sample(fast, one, 10)), .. Enumerable.Range(0, 10).Select(_ => Sample(slow, two, 100))]);

        using var admin = await graph.AdminClientAsync();
        await EndpointWhenCountedAsync(admin, $"service={slow}", two, atLeast: 10);
        var byService = await admin.GetFromJsonAsync<JsonElement>("/api/v1/monitoring/response-time/compare?by=service&period=15m");
        var byEndpoint = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/compare?by=endpoint&period=15m&endpoint={one}&endpoint={two}");
        var byPeriod = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/compare?by=period&period=15m&endpoint={two}");
        using var tooFew = await admin.GetAsync($"/api/v1/monitoring/response-time/compare?by=endpoint&endpoint={one}");

        JsonElement Item(JsonElement comparison, string label) =>
            comparison.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("label").GetString() == label);
        Assert.Equal(10, Item(byService, fast).GetProperty("averageMs").GetDouble(), 3);
        Assert.Equal(100, Item(byService, slow).GetProperty("averageMs").GetDouble(), 3);
        Assert.Equal(10, Item(byEndpoint, one).GetProperty("count").GetInt64());
        Assert.Equal(100, Item(byEndpoint, two).GetProperty("p50Ms").GetDouble(), 100 * 0.05);
        Assert.Equal(10, Item(byPeriod, "current").GetProperty("count").GetInt64());
        Assert.Equal(0, Item(byPeriod, "previous").GetProperty("count").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, tooFew.StatusCode);
    }

    [Fact]
    public async Task Services_report_their_health_version_uptime_and_instances()
    {
        using var admin = await graph.AdminClientAsync();

        Dictionary<string, JsonElement> services = [];
        string[] names = ["gateway", "auth", "core", "mcp"];
        // A service that has just (re)started reports its readiness within a second of becoming ready.
        await Poll.UntilAsync(
            async () =>
            {
                services = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/monitoring/services")).GetProperty("items").EnumerateArray()
                    .ToDictionary(s => s.GetProperty("name").GetString()!);
                return names.All(n => services[n].GetProperty("health").GetString() == "Healthy");
            },
            TimeSpan.FromSeconds(15),
            "every service reports healthy");

        Assert.Equal(2, services["gateway"].GetProperty("instances").GetInt32()); // the graph runs two gateway replicas
        foreach (var name in names)
        {
            var service = services[name];
            Assert.Equal("Healthy", service.GetProperty("health").GetString());
            Assert.True(service.GetProperty("instances").GetInt32() >= 1, name);
            Assert.False(string.IsNullOrEmpty(service.GetProperty("versions")[0].GetString()));
            Assert.True(service.GetProperty("uptimeSeconds").GetDouble() > 0);
        }
    }

    [Fact]
    public async Task Trends_give_one_point_per_bucket()
    {
        var service = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using var redis = await RedisAsync();
        await WriteBatchAsync(redis, Guid.NewGuid().ToString("N"), [.. Enumerable.Range(0, 30).Select(_ => Sample(service, "/api/v1/usage/trend", 25))]);

        using var admin = await graph.AdminClientAsync();
        await EndpointWhenCountedAsync(admin, $"service={service}", "/api/v1/usage/trend", atLeast: 30);
        var trends = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/trends?period=1h&bucket=5m&service={service}");

        var points = trends.GetProperty("items").EnumerateArray().ToList();
        Assert.InRange(points.Count, 12, 13); // a period widened to whole minutes
        Assert.Equal(30, points.Sum(p => p.GetProperty("count").GetInt64()));
        Assert.Equal(25, points.Single(p => p.GetProperty("count").GetInt64() > 0).GetProperty("averageMs").GetDouble(), 3);
    }

    private static Dictionary<string, object?> Sample(string service, string path, double durationMs, DateTimeOffset? at = null) => new()
    {
        ["route"] = "core",
        ["path"] = path,
        ["method"] = path.StartsWith("/auth/login", StringComparison.Ordinal) ? "POST" : "GET",
        ["status"] = 200,
        ["duration_ms"] = durationMs,
        ["service"] = service,
        ["time"] = (at ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds(),
        ["correlation_id"] = Guid.NewGuid().ToString("N"),
    };

    /// <summary>One stream entry exactly as the gateway writes it (Gateway/ResponseTime/ResponseTimeSamples.cs).</summary>
    private static Task<string> WriteBatchAsync(RedisConnection redis, string batchId, List<Dictionary<string, object?>> samples) =>
        redis.StreamAddAsync(
            Stream,
            [new("v", "1"), new("batch", batchId), new("count", (long)samples.Count), new("samples", JsonSerializer.SerializeToUtf8Bytes(samples))],
            maxLenApprox: null,
            CancellationToken.None);

    private async Task<RedisConnection> RedisAsync() =>
        await RedisConnection.ConnectAsync(RedisOptions.Parse((await graph.App.GetConnectionStringAsync("cache"))!));

    private static async Task<JsonElement> EndpointWhenCountedAsync(HttpClient admin, string query, string endpoint, long atLeast, TimeSpan? timeout = null)
    {
        JsonElement found = default;
        await Poll.UntilAsync(
            async () =>
            {
                var list = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/monitoring/response-time/endpoints?period=15m&{query}");
                found = list.GetProperty("items").EnumerateArray().FirstOrDefault(e => e.GetProperty("endpoint").GetString() == endpoint);
                return found.ValueKind == JsonValueKind.Object && found.GetProperty("count").GetInt64() >= atLeast;
            },
            timeout ?? TimeSpan.FromSeconds(15),
            $"{endpoint} counted at least {atLeast} times");
        return found;
    }
}
