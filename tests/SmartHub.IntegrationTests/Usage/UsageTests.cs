using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.IntegrationTests.Usage;

/// <summary>
/// Usage records from the producer's side (the <see cref="UsageRecorder"/> McpServer uses, or raw stream entries) to
/// the user and admin analytics through the gateway: stored once, never lost across a consumer crash or a CoreService
/// kill, bad entries kept in the dead-letter stream, periods exact at any time of day.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class UsageTests(GraphFixture graph)
{
    private const string Stream = "usage:records";
    private const string DeadLetters = "usage:records:dead";
    private const string Group = "core-usage";

    [Fact]
    public async Task Records_sent_through_the_recorder_are_reported_by_day_model_and_key()
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        var userId = Guid.Parse(user.Id);
        var now = DateTimeOffset.UtcNow;
        UsageRecord[] records =
        [
            Record(userId, now.AddDays(-2), Guid.Parse(keyId), "mock-fast", prompt: 100, completion: 50, credits: 3, ttft: 5),
            Record(userId, now.AddDays(-2), Guid.Parse(keyId), "mock-fast", prompt: 200, completion: 20, credits: 2, ttft: 7),
            Record(userId, now.AddMinutes(-5), Guid.Parse(keyId), "mock-fast", prompt: 10, completion: 0, credits: 0, status: 502),
            Record(userId, now.AddMinutes(-4), null, "mock-smart", prompt: 1_000, completion: 1_000, credits: 18, ttft: 300),
            Record(userId, now.AddMinutes(-3), null, "mock-smart", prompt: 1_000, completion: 1_000, credits: 0, cacheHit: true),
        ];

        await graph.RecordThroughRecorderAsync(records);

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var byDay = await UsageWhenStoredAsync(client, "/api/v1/usage", requests: 5);
        Assert.Equal("day", byDay.GetProperty("groupBy").GetString());
        var totals = byDay.GetProperty("totals");
        Assert.Equal(1, totals.GetProperty("errors").GetInt64());
        Assert.Equal(1, totals.GetProperty("cacheHits").GetInt64());
        Assert.Equal(2_310, totals.GetProperty("promptTokens").GetInt64());
        Assert.Equal(2_070, totals.GetProperty("completionTokens").GetInt64());
        Assert.Equal(4_380, totals.GetProperty("totalTokens").GetInt64());
        Assert.Equal(23, totals.GetProperty("credits").GetInt64());
        Assert.Equal(104, totals.GetProperty("averageTimeToFirstTokenMs").GetDouble()); // (5 + 7 + 300) / 3
        var days = byDay.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(31, days.Count); // every day the default 30-day period touches, zeros included
        Assert.Equal(2, Item(days, Day(now.AddDays(-2))).GetProperty("requests").GetInt64());
        Assert.Equal(3, days.Where(i => i.GetProperty("key").GetString() != Day(now.AddDays(-2))).Sum(i => i.GetProperty("requests").GetInt64()));
        Assert.Equal(5, days.Sum(d => d.GetProperty("requests").GetInt64()));

        var byModel = await client.GetFromJsonAsync<JsonElement>("/api/v1/usage?groupBy=model");
        var models = byModel.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["mock-smart", "mock-fast"], models.Select(m => m.GetProperty("key").GetString())); // by credits, highest first
        Assert.All(models, m => Assert.Equal("mock", m.GetProperty("provider").GetString()));
        Assert.Equal(3, Item(models, "mock-fast").GetProperty("requests").GetInt64());

        var byKey = await client.GetFromJsonAsync<JsonElement>("/api/v1/usage?groupBy=apiKey");
        var keys = byKey.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(3, Item(keys, keyId).GetProperty("requests").GetInt64());
        Assert.Equal(2, Item(keys, "session").GetProperty("requests").GetInt64());

        // Someone else sees none of it.
        var other = await graph.NewUserAsync();
        using var otherClient = graph.Client(bearer: other.Tokens.AccessToken);
        var theirs = await otherClient.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        Assert.Equal(0, theirs.GetProperty("totals").GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task A_batch_written_twice_is_stored_once()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        var records = Enumerable.Range(0, 20).Select(i => Record(userId, DateTimeOffset.UtcNow.AddSeconds(-i), null, "mock-fast", 10, 10, 1)).ToList();
        await using var redis = await RedisAsync();

        await WriteEntryAsync(redis, records);
        await WriteEntryAsync(redis, records); // a retry after a lost reply
        await WriteEntryAsync(redis, records[..5]);

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await UsageWhenStoredAsync(client, "/api/v1/usage", requests: 20);
        await Task.Delay(500); // time enough for the duplicates to have been read too
        var usage = await client.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        Assert.Equal(20, usage.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(20, usage.GetProperty("totals").GetProperty("credits").GetInt64());
    }

    [Fact]
    public async Task Bad_entries_go_to_the_dead_letter_stream_and_the_rest_is_stored()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        await using var redis = await RedisAsync();

        var malformed = await redis.StreamAddAsync(Stream, [new("v", "1"), new("batch", "x"), new("count", 1L), new("records", "{not json")]);
        var unknownVersion = await redis.StreamAddAsync(Stream, [new("v", "99"), new("records", "[]")]);
        var invalid = Record(userId, DateTimeOffset.UtcNow, null, "mock-fast", prompt: -5, completion: 1, credits: 1);
        var valid = Record(userId, DateTimeOffset.UtcNow, null, "mock-fast", prompt: 5, completion: 1, credits: 1);
        var mixed = await WriteEntryAsync(redis, [invalid, valid]);

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await UsageWhenStoredAsync(client, "/api/v1/usage", requests: 1);
        string[] expected = [malformed, unknownVersion, mixed];
        await Poll.UntilAsync(
            async () => (await DeadLetteredAsync(redis)).Select(d => d.Entry).Intersect(expected).Count() == 3,
            TimeSpan.FromSeconds(10),
            "the three bad entries are in the dead-letter stream");
        var dead = (await DeadLetteredAsync(redis)).Where(d => expected.Contains(d.Entry)).ToList();
        Assert.Contains("malformed", dead.Single(d => d.Entry == malformed).Reason, StringComparison.Ordinal);
        Assert.Contains("version", dead.Single(d => d.Entry == unknownVersion).Reason, StringComparison.Ordinal);
        Assert.Contains("negative", dead.Single(d => d.Entry == mixed).Reason, StringComparison.Ordinal);
        Assert.Contains(invalid.Id.ToString(), dead.Single(d => d.Entry == mixed).Records, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entries_a_crashed_consumer_read_but_never_stored_are_taken_over()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        var records = Enumerable.Range(0, 10).Select(i => Record(userId, DateTimeOffset.UtcNow, null, "mock-smart", 100, 100, 2)).ToList();
        await using var redis = await RedisAsync();

        // Atomically add the entry and read it as a consumer that then "crashes": CoreService never gets it as new.
        var buffer = new ArrayBufferWriter<byte>();
        UsageRecordBatch.Encode(records, buffer);
        var read = await redis.ScriptEvaluateAsync(
            AddAndReadScript, [Stream], [Group, "crashed-consumer", buffer.WrittenMemory, (long)records.Count]);
        var entryId = read.AsString()!;
        Assert.Equal(1, await PendingOfAsync(redis, "crashed-consumer", entryId));

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await UsageWhenStoredAsync(client, "/api/v1/usage", requests: 10);
        await Poll.UntilAsync(async () => await PendingOfAsync(redis, "crashed-consumer", entryId) == 0, TimeSpan.FromSeconds(10), "the entry is no longer pending");
        Assert.Equal(20, (await client.GetFromJsonAsync<JsonElement>("/api/v1/usage")).GetProperty("totals").GetProperty("credits").GetInt64());
    }

    [Fact]
    public async Task Records_written_while_CoreService_is_down_are_stored_once_it_is_back()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        await using var redis = await RedisAsync();
        var before = Enumerable.Range(0, 5).Select(_ => Record(userId, DateTimeOffset.UtcNow, null, "mock-fast", 1, 1, 1)).ToList();
        var during = Enumerable.Range(0, 7).Select(_ => Record(userId, DateTimeOffset.UtcNow, null, "mock-fast", 1, 1, 1)).ToList();

        await WriteEntryAsync(redis, before);
        Process.GetProcessById(graph.App.GetProcessIds()["core"]).Kill(); // perhaps between storing and acknowledging
        await WriteEntryAsync(redis, during);
        await WriteEntryAsync(redis, before); // and a duplicate for good measure
        await Task.Delay(300);
        await graph.App.ResourceNotifications.WaitForResourceHealthyAsync("core").WaitAsync(TimeSpan.FromSeconds(60));

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await UsageWhenStoredAsync(client, "/api/v1/usage", requests: 12, timeout: TimeSpan.FromSeconds(30));
        await Task.Delay(1_500); // past the take-over delay: whatever was still pending has been handled
        Assert.Equal(12, (await client.GetFromJsonAsync<JsonElement>("/api/v1/usage")).GetProperty("totals").GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task A_period_is_exact_at_any_time_of_day()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        var d = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(-10);
        DateTimeOffset At(int day, int hour) => new(d.AddDays(day).AddHours(hour), TimeSpan.Zero);
        // One credit per record, and one record per (day, hour) below: credits count records.
        (int Day, int Hour)[] times = [(0, 1), (0, 23), (1, 0), (1, 12), (2, 6), (3, 18), (3, 23), (4, 0)];
        await using (var redis = await RedisAsync())
        {
            await WriteEntryAsync(redis, times.Select(t => Record(userId, At(t.Day, t.Hour), null, "mock-fast", 1, 1, 1)).ToList());
        }

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await UsageWhenStoredAsync(client, $"/api/v1/usage?from={Date(At(0, 0))}&to={Date(At(4, 0))}", requests: times.Length);

        async Task<long> CountAsync(string from, string to) =>
            (await client.GetFromJsonAsync<JsonElement>($"/api/v1/usage?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}"))
                .GetProperty("totals").GetProperty("requests").GetInt64();

        string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        Assert.Equal(8, await CountAsync(Date(At(0, 0)), Date(At(4, 0))));          // dates: `to` includes its day
        Assert.Equal(7, await CountAsync(Date(At(0, 0)), Date(At(3, 0))));
        Assert.Equal(6, await CountAsync(Iso(At(0, 2)), Iso(At(4, 0))));            // partial first day, `to` exclusive
        Assert.Equal(2, await CountAsync(Iso(At(0, 23)), Iso(At(1, 1))));           // no whole day at all
        Assert.Equal(3, await CountAsync(Iso(At(1, 12)), Iso(At(3, 23))));          // partial days at both ends; `to` exclusive
        Assert.Equal(3, await CountAsync(Iso(At(3, 18)), Iso(At(4, 0).AddSeconds(1))));
        Assert.Equal(1, await CountAsync(Iso(At(2, 0)), Iso(At(3, 0))));            // one whole day, as times
    }

    [Fact]
    public async Task Admins_see_totals_days_and_top_users_and_models_and_others_are_refused()
    {
        // A day no other test writes to, far in the past: the admin figures for it are this test's alone.
        var day = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(-200);
        var big = await graph.NewUserAsync();
        var small = await graph.NewUserAsync();
        await using (var redis = await RedisAsync())
        {
            var at = new DateTimeOffset(day.AddHours(10), TimeSpan.Zero);
            await WriteEntryAsync(redis,
            [
                Record(Guid.Parse(big.Id), at, null, "mock-smart", 1000, 1000, 50),
                Record(Guid.Parse(big.Id), at, null, "mock-fast", 100, 100, 5),
                Record(Guid.Parse(small.Id), at, null, "mock-fast", 10, 10, 1),
            ]);
        }

        using var admin = await graph.AdminClientAsync();
        var url = $"/api/v1/admin/usage?from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}&top=5";
        var report = await UsageWhenStoredAsync(admin, url, requests: 3);
        Assert.Equal(56, report.GetProperty("totals").GetProperty("credits").GetInt64());
        Assert.Equal(2, report.GetProperty("activeUsers").GetInt64());
        Assert.Equal([big.Id, small.Id], report.GetProperty("topUsers").EnumerateArray().Select(u => u.GetProperty("key").GetString()));
        Assert.Equal(["mock-smart", "mock-fast"], report.GetProperty("topModels").EnumerateArray().Select(u => u.GetProperty("key").GetString()));
        var days = report.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(3, Assert.Single(days).GetProperty("requests").GetInt64());

        using var user = graph.Client(bearer: small.Tokens.AccessToken);
        using var refused = await user.GetAsync(url);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        using var anonymous = await graph.Gateway.GetAsync(url);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/usage?groupBy=week", "groupBy")]
    [InlineData("/api/v1/usage?from=2026-13-01", "from")]
    [InlineData("/api/v1/usage?from=yesterday", "from")]
    [InlineData("/api/v1/usage?from=2026-11-01T10:00:00", "from")] // no offset
    [InlineData("/api/v1/usage?from=2026-11-02&to=2026-11-01", "from")]
    [InlineData("/api/v1/usage?from=2020-01-01&to=2026-01-01", "to")]
    [InlineData("/api/v1/admin/usage?top=0", "top")]
    [InlineData("/api/v1/admin/usage?top=1000", "top")]
    public async Task Bad_queries_are_400_problems_that_name_the_parameter(string url, string parameter)
    {
        using var admin = await graph.AdminClientAsync();
        using var response = await admin.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
    }

    [Fact]
    public async Task The_price_list_has_the_mock_models_and_needs_a_caller()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(apiKey: key);

        var pricing = await client.GetFromJsonAsync<JsonElement>("/api/v1/pricing");

        Assert.Equal("credits", pricing.GetProperty("currency").GetString());
        Assert.Equal(1000, pricing.GetProperty("tokensPerUnit").GetInt32());
        var models = pricing.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        Assert.Equal(0.5m, models["mock-fast"].GetProperty("promptPer1K").GetDecimal());
        Assert.Equal(15m, models["mock-smart"].GetProperty("completionPer1K").GetDecimal());
        Assert.Equal("mock", models["mock-smart"].GetProperty("provider").GetString());
        using var anonymous = await graph.Gateway.GetAsync("/api/v1/pricing");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    private static readonly LuaScript AddAndReadScript = new("""
        local id = redis.call('XADD', KEYS[1], '*', 'v', '1', 'batch', 'crash-test', 'count', ARGV[4], 'records', ARGV[3])
        redis.call('XGROUP', 'CREATECONSUMER', KEYS[1], ARGV[1], ARGV[2])
        local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1000, 'STREAMS', KEYS[1], '>')
        return id
        """);

    private static UsageRecord Record(
        Guid userId, DateTimeOffset at, Guid? keyId, string model, int prompt, int completion, long credits,
        double? ttft = null, int status = 200, bool cacheHit = false) =>
        new(Guid.NewGuid(), at, userId, keyId, model, "mock", prompt, completion, credits, 12.5, ttft, status, cacheHit);

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Date(DateTimeOffset t) => Day(t);

    private static JsonElement Item(List<JsonElement> items, string key) => items.Single(i => i.GetProperty("key").GetString() == key);

    private async Task<RedisConnection> RedisAsync() =>
        await RedisConnection.ConnectAsync(RedisOptions.Parse((await graph.App.GetConnectionStringAsync("cache"))!));

    private static async Task<string> WriteEntryAsync(RedisConnection redis, List<UsageRecord> records)
    {
        var buffer = new ArrayBufferWriter<byte>();
        UsageRecordBatch.Encode(records, buffer);
        return await UsageRecordBatch.WriteAsync(redis, Stream, Guid.NewGuid().ToString("N"), records.Count, buffer.WrittenMemory, CancellationToken.None);
    }

    private static async Task<List<(string Entry, string Reason, string Records)>> DeadLetteredAsync(RedisConnection redis)
    {
        var reply = await redis.ExecuteAsync("XRANGE", [DeadLetters, "-", "+"]);
        return reply.AsArray().Select(e =>
        {
            var values = e.AsArray()[1].AsArray();
            var fields = Enumerable.Range(0, values.Count / 2).ToDictionary(i => values[2 * i].AsString()!, i => values[(2 * i) + 1].AsString()!);
            return (fields["entry"], fields["reason"], fields["records"]);
        }).ToList();
    }

    private static async Task<long> PendingOfAsync(RedisConnection redis, string consumer, string entryId)
    {
        var reply = await redis.ExecuteAsync("XPENDING", [Stream, Group, entryId, entryId, 10, consumer]);
        return reply.AsArray().Count;
    }

    private static async Task<JsonElement> UsageWhenStoredAsync(HttpClient client, string url, long requests, TimeSpan? timeout = null)
    {
        JsonElement last = default;
        await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetFromJsonAsync<JsonElement>(url);
                return last.GetProperty("totals").GetProperty("requests").GetInt64() >= requests;
            },
            timeout ?? TimeSpan.FromSeconds(15),
            $"{requests} requests are reported at {url}");
        return last;
    }
}
