using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.ResponseTime;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Gateway;

public sealed class ResponseTimeSampleQueueTests : IDisposable
{
    private readonly ManualTimeProvider _clock = new();
    private readonly ListLogger<ResponseTimeSampleQueue> _logger = new();
    private readonly MetricsProbe _metrics = new();

    public void Dispose() => _metrics.Dispose();

    private static ResponseTimeSample Sample(int i) => new("core", $"/api/{i}", "GET", 200, 1.5, "core", 1_700_000_000_000 + i, $"c{i}");

    [Fact]
    public void A_full_queue_drops_new_samples_counts_each_and_logs_at_most_once_a_minute()
    {
        var queue = new ResponseTimeSampleQueue(2, _metrics.Metrics, _clock, _logger);

        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(Sample(i)); // never blocks, never throws
        }

        Assert.Equal(2, queue.Count);
        Assert.Equal(3, queue.Dropped);
        Assert.Equal(3, _metrics.Total("smarthub.gateway.samples.dropped"));
        var warning = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Dropped 1 response-time samples", warning.Message, StringComparison.Ordinal); // the first drop is reported at once

        _clock.Advance(TimeSpan.FromSeconds(59));
        queue.Enqueue(Sample(5));
        Assert.Single(_logger.Entries);

        _clock.Advance(TimeSpan.FromSeconds(1));
        queue.Enqueue(Sample(6));
        Assert.Equal(2, _logger.Entries.Count);
        Assert.Contains("Dropped 4 response-time samples", _logger.Entries[1].Message, StringComparison.Ordinal); // 2 earlier + 2 now
        Assert.Equal(5, queue.Dropped);
    }

    [Fact]
    public void Drops_not_yet_logged_are_reported_when_the_writer_asks()
    {
        var queue = new ResponseTimeSampleQueue(1, _metrics.Metrics, _clock, _logger);
        queue.Enqueue(Sample(0));
        queue.Enqueue(Sample(1));
        queue.Enqueue(Sample(2));
        Assert.Single(_logger.Entries);

        queue.ReportDrops(force: true);

        Assert.Equal(2, _logger.Entries.Count);
        Assert.Contains("Dropped 1 response-time samples", _logger.Entries[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Samples_queued_in_order_and_kept_while_there_is_room()
    {
        var queue = new ResponseTimeSampleQueue(10, _metrics.Metrics, _clock, _logger);
        queue.Enqueue(Sample(1));
        queue.Enqueue(Sample(2));

        Assert.True(queue.TryDequeue(out var first));
        Assert.Equal("/api/1", first.Path);
        Assert.Equal(0, queue.Dropped);
        Assert.Empty(_logger.Entries);
    }

    [Fact]
    public void After_completion_samples_are_counted_as_dropped()
    {
        var queue = new ResponseTimeSampleQueue(10, _metrics.Metrics, _clock, _logger);
        queue.Complete();

        queue.Enqueue(Sample(1));

        Assert.Equal(1, queue.Dropped);
    }

    [Fact]
    public async Task The_writer_sends_one_capped_stream_entry_per_batch_and_flushes_on_shutdown()
    {
        var redis = new RecordingRedis();
        var queue = new ResponseTimeSampleQueue(100, _metrics.Metrics, _clock, _logger);
        var writer = new ResponseTimeSampleWriter(
            queue, redis, Options.Create(new ResponseTimeSampleOptions { MaxStreamLength = 500 }), _metrics.Metrics, TimeProvider.System,
            new ListLogger<ResponseTimeSampleWriter>());
        await writer.StartAsync(CancellationToken.None);

        queue.Enqueue(Sample(1));
        await writer.StopAsync(CancellationToken.None);   // deferred: still draining
        queue.Enqueue(Sample(2));                         // e.g. a request finishing during the server's drain
        await writer.StoppedAsync(CancellationToken.None);

        Assert.All(redis.Commands, command => Assert.Matches(
            @"^XADD telemetry:response-times MAXLEN ~ 500 \* v 1 batch [0-9a-f]{32} count [12] samples <\d+ bytes>$", command));
        Assert.Equal(2, redis.Commands.Sum(command => int.Parse(command.Split(' ')[11], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(2, _metrics.Total("smarthub.gateway.samples.written"));
        writer.Dispose();
    }

    [Fact]
    public async Task Requests_do_not_wake_the_writer_until_a_batch_is_full()
    {
        var redis = new RecordingRedis();
        var queue = new ResponseTimeSampleQueue(100, _metrics.Metrics, _clock, _logger, wakeAt: 4);
        using var writer = new ResponseTimeSampleWriter(
            queue, redis, Options.Create(new ResponseTimeSampleOptions { BatchSize = 4, FlushInterval = TimeSpan.FromSeconds(10) }),
            _metrics.Metrics, TimeProvider.System, new ListLogger<ResponseTimeSampleWriter>());
        queue.Enqueue(Sample(0));
        await writer.StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => redis.Snapshot().Count == 1); // the first pass wrote what was there at start...
        await Task.Delay(200);                                    // ...and the writer now sleeps for the interval

        for (var i = 1; i < 3; i++)
        {
            queue.Enqueue(Sample(i));
        }

        await Task.Delay(300);
        Assert.Single(redis.Snapshot()); // below a batch: they wait for the interval

        queue.Enqueue(Sample(3));
        queue.Enqueue(Sample(4)); // a full batch of 4 waiting: written now (one entry), not in 10 s
        await WaitUntilAsync(() => redis.Snapshot().Count == 2);
        Assert.Contains(" count 4 ", redis.Snapshot()[1], StringComparison.Ordinal);

        await writer.StoppedAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_lone_sample_is_written_after_the_flush_interval()
    {
        var redis = new RecordingRedis();
        var queue = new ResponseTimeSampleQueue(100, _metrics.Metrics, _clock, _logger);
        using var writer = new ResponseTimeSampleWriter(
            queue, redis, Options.Create(new ResponseTimeSampleOptions { FlushInterval = TimeSpan.FromMilliseconds(50) }),
            _metrics.Metrics, TimeProvider.System, new ListLogger<ResponseTimeSampleWriter>());
        await writer.StartAsync(CancellationToken.None);

        queue.Enqueue(Sample(7));

        await WaitUntilAsync(() => redis.Snapshot().Count == 1);
        await writer.StoppedAsync(CancellationToken.None);
        Assert.Equal(0, queue.Dropped);
    }

    [Fact]
    public async Task A_batch_that_fails_is_kept_and_retried_with_the_same_id_until_redis_takes_it()
    {
        var redis = new RecordingRedis { FailFirst = 2 };
        var queue = new ResponseTimeSampleQueue(100, _metrics.Metrics, _clock, _logger);
        var log = new ListLogger<ResponseTimeSampleWriter>();
        using var writer = new ResponseTimeSampleWriter(
            queue, redis, Options.Create(new ResponseTimeSampleOptions { FlushInterval = TimeSpan.FromMilliseconds(20) }),
            _metrics.Metrics, TimeProvider.System, log);
        queue.Enqueue(Sample(1));
        queue.Enqueue(Sample(2));
        await writer.StartAsync(CancellationToken.None);

        await WaitUntilAsync(() => redis.Snapshot().Count == 3); // two failures (250 ms, then 500 ms backoff), then written
        await writer.StoppedAsync(CancellationToken.None);

        var ids = redis.Snapshot().Select(c => c.Split(' ')[9]).Distinct();
        Assert.Single(ids);
        Assert.Equal(2, _metrics.Total("smarthub.gateway.samples.written"));
        Assert.Equal(0, queue.Dropped);
        Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Single(log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("again", StringComparison.Ordinal));
    }

    [Fact]
    public void A_batch_is_a_json_array_of_samples_with_numbers_as_numbers_and_long_paths_cut()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ResponseTimeSampleBatch.Encode(
            [Sample(1), new("openai", "/v1/" + new string('x', 400), "POST", 502, 12.34567, "mcp", 1_700_000_000_123, null)], buffer);

        using var json = System.Text.Json.JsonDocument.Parse(buffer.WrittenMemory);
        var samples = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, samples.Length);
        Assert.Equal("core", samples[0].GetProperty("route").GetString());
        Assert.Equal("/api/1", samples[0].GetProperty("path").GetString());
        Assert.Equal("c1", samples[0].GetProperty("correlation_id").GetString());
        Assert.Equal(200, samples[0].GetProperty("status").GetInt32());
        Assert.Equal(1.5, samples[0].GetProperty("duration_ms").GetDouble());
        Assert.Equal(ResponseTimeSample.MaxPathLength, samples[1].GetProperty("path").GetString()!.Length);
        Assert.Equal("POST", samples[1].GetProperty("method").GetString());
        Assert.Equal(12.346, samples[1].GetProperty("duration_ms").GetDouble());
        Assert.Equal("mcp", samples[1].GetProperty("service").GetString());
        Assert.Equal(1_700_000_000_123, samples[1].GetProperty("time").GetInt64());
        Assert.Equal("", samples[1].GetProperty("correlation_id").GetString());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }

    private sealed class RecordingRedis : IRedisClient
    {
        public List<string> Commands { get; } = [];

        /// <summary>The first N commands fail as if Redis were down.</summary>
        public int FailFirst { get; init; }

        public List<string> Snapshot()
        {
            lock (Commands)
            {
                return [.. Commands];
            }
        }

        public System.Net.DnsEndPoint EndPoint { get; } = new("127.0.0.1", 6379);

        public bool IsConnected => true;

        public Task<RedisResult> ExecuteAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default)
        {
            var text = command + " " + string.Join(' ', args.ToArray().Select(a => a.ToString()));
            lock (Commands)
            {
                Commands.Add(text);
                if (Commands.Count <= FailFirst)
                {
                    return Task.FromException<RedisResult>(new RedisConnectionException("Redis at 127.0.0.1:6379 is unavailable"));
                }
            }

            return Task.FromResult(RedisResult.FromBulkString("1-0"));
        }

        public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Task.FromResult(TimeSpan.Zero);

        public Task<RedisSubscription> SubscribeAsync(
            string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
