using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Redis;

public sealed class RedisClientTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly string _prefix = "test:" + Guid.NewGuid().ToString("N")[..8] + ":";
    private RedisConnection _client = null!;

    public async Task InitializeAsync() => _client = await RedisConnection.ConnectAsync(server.Options()).WaitAsync(Bound);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    [Fact]
    public async Task Authenticates_with_the_password_and_answers_ping()
    {
        var latency = await _client.PingAsync();

        Assert.True(_client.IsConnected);
        Assert.InRange(latency, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal(server.Port, _client.EndPoint.Port);
        Assert.Equal("127.0.0.1", _client.EndPoint.Host);
    }

    [Fact]
    public async Task Wrong_password_fails_with_a_clear_error()
    {
        var options = server.Options() with { Password = "not-the-password" };

        var ex = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(options).WaitAsync(Bound));

        Assert.StartsWith($"Redis at 127.0.0.1:{server.Port} is unavailable: authentication failed: WRONGPASS", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_password_says_how_to_fix_it()
    {
        var options = server.Options() with { Password = null };

        var ex = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(options).WaitAsync(Bound));

        Assert.Contains("NOAUTH", ex.Message, StringComparison.Ordinal);
        Assert.Contains("password=", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lazy_client_with_a_wrong_password_fails_commands_fast()
    {
        await using var client = RedisConnection.Create(server.Options() with { Password = "wrong" });

        var ex = await Assert.ThrowsAsync<RedisConnectionException>(() => client.ExecuteAsync("GET", ["k"]).WaitAsync(Bound));
        var stopwatch = Stopwatch.StartNew();
        var again = await Assert.ThrowsAsync<RedisConnectionException>(() => client.ExecuteAsync("GET", ["k"]).WaitAsync(Bound));

        Assert.Contains("WRONGPASS", ex.Message, StringComparison.Ordinal);
        Assert.Contains("WRONGPASS", again.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(500), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Lazy_client_serves_commands_issued_before_it_has_connected()
    {
        await using var client = RedisConnection.Create(server.Options());

        var reply = await client.ExecuteAsync("ECHO", ["early"]).WaitAsync(Bound);

        Assert.Equal("early", reply.AsString());
    }

    [Fact]
    public async Task Thousand_concurrent_increments_give_exactly_1000()
    {
        var key = _prefix + "counter";

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => _client.IncrementAsync(key)))).WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), results.Order());
        Assert.Equal("1000", await _client.GetAsync(key));
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_reply()
    {
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var key = $"{_prefix}own:{i}";
            var value = new string((char)('a' + (i % 26)), i * 37);
            await _client.SetAsync(key, value);
            return (Expected: value, Actual: await _client.GetAsync(key));
        }));

        foreach (var (expected, actual) in await Task.WhenAll(tasks).WaitAsync(Bound))
        {
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task Set_conditions_expiry_and_ttl()
    {
        var key = _prefix + "s";

        Assert.True(await _client.SetAsync(key, "v1", when: When.NotExists));
        Assert.False(await _client.SetAsync(key, "v2", when: When.NotExists));
        Assert.True(await _client.SetAsync(key, "v3", TimeSpan.FromMinutes(1), When.Exists));
        Assert.False(await _client.SetAsync(_prefix + "absent", "x", when: When.Exists));
        Assert.Equal("v3", await _client.GetAsync(key));
        Assert.InRange((await _client.TimeToLiveAsync(key))!.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));
        Assert.True(await _client.ExpireAsync(key, TimeSpan.FromHours(1)));
        Assert.InRange((await _client.TimeToLiveAsync(key))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.Null(await _client.TimeToLiveAsync(_prefix + "absent"));
        Assert.True(await _client.KeyExistsAsync(key));
        Assert.True(await _client.DeleteAsync(key));
        Assert.False(await _client.DeleteAsync(key));
        Assert.Null(await _client.GetAsync(key));
        Assert.Equal(10, await _client.IncrementAsync(_prefix + "by", 10));
        Assert.Equal(7, await _client.IncrementAsync(_prefix + "by", -3));
    }

    [Fact]
    public async Task Big_and_binary_values_round_trip()
    {
        var big = new byte[2 * 1024 * 1024];
        Random.Shared.NextBytes(big);

        await _client.SetAsync(_prefix + "big", big);

        Assert.Equal(big, await _client.GetBytesAsync(_prefix + "big"));
    }

    [Fact]
    public async Task Hashes()
    {
        var key = _prefix + "h";

        Assert.Equal(2, await _client.HashSetAsync(key, [new("a", "1"), new("b", 2)]));
        Assert.True(await _client.HashSetAsync(key, "c", "three"));
        Assert.False(await _client.HashSetAsync(key, "c", "3"));

        var all = await _client.HashGetAllAsync(key);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3" }, all);
        Assert.Equal("2", await _client.HashGetAsync(key, "b"));
        Assert.Empty(await _client.HashGetAllAsync(_prefix + "none"));
    }

    [Fact]
    public async Task Server_errors_surface_with_the_server_message()
    {
        await _client.HashSetAsync(_prefix + "hash", "f", "v");

        var ex = await Assert.ThrowsAsync<RedisServerException>(() => _client.IncrementAsync(_prefix + "hash"));

        Assert.Equal("WRONGTYPE", ex.ErrorCode);
        Assert.StartsWith("WRONGTYPE Operation against a key holding the wrong kind of value", ex.Message, StringComparison.Ordinal);
        Assert.Equal("PONG", (await _client.ExecuteAsync("PING")).AsString()); // the connection is fine afterwards
    }

    [Fact]
    public async Task Script_uses_evalsha_and_falls_back_to_eval_after_script_flush()
    {
        var script = new LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
        var key = _prefix + "lua";

        Assert.Equal(5, (await _client.ScriptEvaluateAsync(script, [key], [5])).AsLong());
        Assert.Equal(1, (await _client.ExecuteAsync("SCRIPT", ["EXISTS", script.Sha1])).AsArray()[0].AsLong());
        Assert.Equal(10, (await _client.ScriptEvaluateAsync(script, [key], [5])).AsLong());

        await _client.ExecuteAsync("SCRIPT", ["FLUSH"]);
        Assert.Equal(0, (await _client.ExecuteAsync("SCRIPT", ["EXISTS", script.Sha1])).AsArray()[0].AsLong());

        Assert.Equal(15, (await _client.ScriptEvaluateAsync(script, [key], [5])).AsLong());
        Assert.Equal(1, (await _client.ExecuteAsync("SCRIPT", ["EXISTS", script.Sha1])).AsArray()[0].AsLong());
        Assert.Equal(script.Sha1, await _client.ScriptLoadAsync(script));
    }

    [Fact]
    public async Task Script_errors_surface_as_server_exceptions()
    {
        var script = new LuaScript("return redis.error_reply('LIMITED too many')");

        var ex = await Assert.ThrowsAsync<RedisServerException>(() => _client.ScriptEvaluateAsync(script, [], []));

        Assert.Equal("LIMITED too many", ex.Message);
    }

    [Fact]
    public async Task Stream_add_caps_the_length_and_consumer_groups_read_and_ack()
    {
        var key = _prefix + "stream";
        for (var i = 0; i < 1000; i++)
        {
            await _client.StreamAddAsync(key, [new("route", "/v1/chat"), new("ms", i)], maxLenApprox: 100);
        }

        var length = await _client.StreamLengthAsync(key);
        Assert.InRange(length, 100, 300); // "~": whole nodes of 100 entries are trimmed

        Assert.True(await _client.StreamCreateConsumerGroupAsync(key, "g", "0"));
        Assert.False(await _client.StreamCreateConsumerGroupAsync(key, "g", "0"));
        var entries = await _client.StreamReadGroupAsync(key, "g", "c1", count: 10);
        Assert.Equal(10, entries.Count);
        Assert.Equal("/v1/chat", entries[0]["route"].AsString());
        Assert.True(entries[1]["ms"].AsLong() > entries[0]["ms"].AsLong());
        Assert.Equal(10, await _client.StreamAcknowledgeAsync(key, "g", entries.Select(e => e.Id).ToArray()));
        Assert.Empty(await _client.StreamReadGroupAsync(key, "g", "c1", count: 10, id: "0"));
    }

    [Fact]
    public async Task Publish_reaches_subscribers_until_they_unsubscribe()
    {
        var channel = _prefix + "revocations";
        var received = new TaskCompletionSource<RedisChannelMessage>(TaskCreationOptions.RunContinuationsAsynchronously);

        var subscription = await _client.SubscribeAsync(channel, m => received.TrySetResult(m)).WaitAsync(Bound);
        var receivers = await _client.PublishAsync(channel, "key-123");
        var message = await received.Task.WaitAsync(Bound);

        Assert.Equal(1, receivers);
        Assert.Equal(channel, message.Channel);
        Assert.Equal("key-123", message.Message.AsString());

        await subscription.DisposeAsync();
        Assert.Equal(0, await _client.PublishAsync(channel, "after"));
    }

    [Fact]
    public async Task Messages_are_delivered_in_order_to_every_handler()
    {
        var channel = _prefix + "ordered";
        var first = new List<string>();
        var second = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = await _client.SubscribeAsync(channel, m => first.Add(m.Message.AsString()!));
        await using var b = await _client.SubscribeAsync(channel, async (m, ct) =>
        {
            await Task.Yield();
            second.Add(m.Message.AsString()!);
            if (second.Count == 100)
            {
                done.TrySetResult();
            }
        });

        for (var i = 0; i < 100; i++)
        {
            await _client.PublishAsync(channel, i);
        }

        await done.Task.WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Selects_the_default_database_and_sets_the_client_name()
    {
        await using var db5 = await RedisConnection.ConnectAsync(server.Options("defaultDatabase=5,name=smarthub-test"));

        await db5.SetAsync(_prefix + "in5", "x");

        Assert.Equal("x", await db5.GetAsync(_prefix + "in5"));
        Assert.Null(await _client.GetAsync(_prefix + "in5"));
        Assert.Equal("smarthub-test", (await db5.ExecuteAsync("CLIENT", ["GETNAME"])).AsString());
    }

    [Fact]
    public async Task Cancellation_token_is_honoured_without_waiting_for_the_reply()
    {
        await using var dedicated = await RedisConnection.ConnectAsync(server.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var stopwatch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => dedicated.ExecuteAsync("BLPOP", [_prefix + "never", 5], cts.Token).WaitAsync(Bound));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dedicated.ExecuteAsync("PING", [], cts.Token));
    }

    [Fact]
    public async Task Command_timeout_fails_a_command_without_a_reply()
    {
        await using var dedicated = await RedisConnection.ConnectAsync(server.Options("asyncTimeout=300"));
        var stopwatch = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<RedisTimeoutException>(() => dedicated.ExecuteAsync("BLPOP", [_prefix + "never", 3]).WaitAsync(Bound));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        Assert.Contains("BLPOP timed out after 300 ms", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_check_is_healthy_with_a_live_server()
    {
        var check = CreateHealthCheck(_client);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal($"127.0.0.1:{server.Port}", result.Data["endpoint"]);
    }

    [Fact]
    public async Task Health_check_is_unhealthy_naming_the_endpoint_but_not_the_password()
    {
        var port = server.Port == 1 ? 2 : 1; // nothing listens there
        await using var client = RedisConnection.Create(RedisOptions.Parse($"127.0.0.1:{port},password=Hunter2"));
        var check = CreateHealthCheck(client);

        var result = await check.CheckHealthAsync(Context(check)).WaitAsync(Bound);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith($"Redis at 127.0.0.1:{port} is unavailable", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2", result.Description, StringComparison.Ordinal);
    }

    private static RedisHealthCheck CreateHealthCheck(IRedisClient client) => new(client, RedisHealthCheck.DefaultTimeout);

    private static HealthCheckContext Context(IHealthCheck check) => new()
    {
        Registration = new HealthCheckRegistration("cache", check, HealthStatus.Unhealthy, ["ready"]),
    };
}
