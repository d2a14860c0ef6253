using System.Diagnostics;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Redis;

/// <summary>Kills and restarts this class's own redis-server; no other test shares it.</summary>
public sealed class RedisReconnectTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Killed_server_fails_commands_fast_and_the_client_reconnects_by_itself()
    {
        await using var client = await RedisConnection.ConnectAsync(server.Options());
        await using var blocking = await RedisConnection.ConnectAsync(server.Options("asyncTimeout=60000"));
        var channel = "revocations";
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var subscription = await client.SubscribeAsync(channel, m => received.Enqueue(m.Message.AsString()!));
        Assert.Equal(1, await client.PublishAsync(channel, "before"));
        Assert.Equal(1, await client.IncrementAsync("n"));
        var inFlight = blocking.ExecuteAsync("BLPOP", ["never", 50]);

        server.Kill();

        // The command waiting for a reply fails at once, with the connection error (never hangs).
        var pendingError = await Assert.ThrowsAsync<RedisConnectionException>(() => inFlight.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.StartsWith($"Redis at 127.0.0.1:{server.Port} is unavailable:", pendingError.Message, StringComparison.Ordinal);

        // While it is down, every command fails fast.
        for (var i = 0; i < 20; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<RedisConnectionException>(() => client.IncrementAsync("n").WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(500), $"attempt {i} took {stopwatch.Elapsed}");
            Assert.StartsWith($"Redis at 127.0.0.1:{server.Port} is unavailable:", ex.Message, StringComparison.Ordinal);
            await Task.Delay(50);
        }

        Assert.False(client.IsConnected);

        await server.StartAsync();

        // Back by itself: commands succeed again (the restarted server has no data)...
        var recovered = Stopwatch.StartNew();
        long value = 0;
        while (true)
        {
            try
            {
                value = await client.IncrementAsync("n");
                break;
            }
            catch (RedisConnectionException) when (recovered.Elapsed < Recovery)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal(1, value);
        Assert.True(client.IsConnected);

        // ...and the subscription was renewed on the new subscriber connection.
        while (await client.PublishAsync(channel, "after") == 0)
        {
            Assert.True(recovered.Elapsed < Recovery, "the subscription was not renewed");
            await Task.Delay(50);
        }

        while (!received.Contains("after"))
        {
            Assert.True(recovered.Elapsed < Recovery, "no message after the reconnect");
            await Task.Delay(20);
        }

        Assert.Equal("before", received.First());
    }

    [Fact]
    public async Task Subscribe_while_redis_is_down_fails_fast_and_registers_nothing()
    {
        await using var client = RedisConnection.Create(RedisOptions.Parse($"127.0.0.1:{FreePort()},password=x"));

        var ex = await Assert.ThrowsAsync<RedisConnectionException>(
            () => client.SubscribeAsync("c", _ => { }).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("is unavailable", ex.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
