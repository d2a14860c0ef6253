using System.Buffers;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// Drains <see cref="ResponseTimeSampleQueue"/> into the Redis stream, one entry per batch (<see cref="ResponseTimeSampleBatch"/>), every
/// <see cref="ResponseTimeSampleOptions.FlushInterval"/> or whenever a full batch is waiting. While Redis is
/// down it keeps its batch and retries with backoff (250 ms doubling to 5 s); meanwhile the queue absorbs new samples
/// up to its bound and drops (and counts) beyond it. On shutdown it keeps running until the web server has stopped
/// (so samples of requests finishing during the graceful drain are included), then flushes what is left within
/// <see cref="FlushTimeout"/>.
/// </summary>
internal sealed class ResponseTimeSampleWriter(
    ResponseTimeSampleQueue queue,
    IRedisClient redis,
    IOptions<ResponseTimeSampleOptions> options,
    GatewayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ResponseTimeSampleWriter> logger) : BackgroundService, IHostedLifecycleService
{
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ResponseTimeSampleOptions _options = options.Value;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<ResponseTimeSample>(_options.BatchSize);
        try
        {
            while (true)
            {
                var completed = queue.IsCompleted; // read first: everything queued before completion is drained below
                while (Fill(batch))
                {
                    await WriteAsync(batch, stoppingToken);
                    batch.Clear();
                    if (!completed && queue.Count < _options.BatchSize)
                    {
                        break; // what arrived during the write waits for the next interval or a full batch: few, full entries
                    }
                }

                queue.ReportDrops(force: false);
                if (completed)
                {
                    break;
                }

                await queue.WaitAsync(_options.FlushInterval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Flush deadline passed: what is still here is lost, and says so.
            var left = batch.Count + queue.Count;
            if (left > 0)
            {
                queue.RecordDrop(left);
                logger.LogWarning("{Count} response-time samples could not be written to Redis before shutdown", left);
            }
        }

        queue.ReportDrops(force: true);
    }

    private bool Fill(List<ResponseTimeSample> batch)
    {
        while (batch.Count < _options.BatchSize && queue.TryDequeue(out var sample))
        {
            batch.Add(sample);
        }

        return batch.Count > 0;
    }

    /// <summary>Writes the batch as one stream entry, retrying until it is written or the writer stops.</summary>
    private async Task WriteAsync(List<ResponseTimeSample> batch, CancellationToken stoppingToken)
    {
        _buffer.ResetWrittenCount();
        ResponseTimeSampleBatch.Encode(batch, _buffer);
        var batchId = Guid.NewGuid().ToString("N");
        var backoff = MinBackoff;
        while (true)
        {
            try
            {
                await ResponseTimeSampleBatch.WriteAsync(
                    redis, _options.StreamKey, _options.MaxStreamLength, batchId, batch.Count, _buffer.WrittenMemory, stoppingToken);
                metrics.SamplesWritten.Add(batch.Count);
                if (_failing)
                {
                    _failing = false;
                    logger.LogInformation("Response-time samples are written to Redis again");
                }

                return;
            }
#pragma warning disable CA1031 // whatever the failure, the batch stays and is retried: samples are never lost to an exception
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                if (!_failing)
                {
                    _failing = true;
                    logger.LogWarning(
                        "Response-time samples cannot be written to Redis ({Error}); retrying, up to {Capacity} samples wait in memory",
                        ex.Message, _options.QueueCapacity);
                }
            }

            await Task.Delay(backoff, timeProvider, stoppingToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    // Stop order: the host stops hosted services in reverse registration order, so this one would stop before the web
    // server has drained its requests. Instead it keeps draining until StoppedAsync (after every StopAsync, the
    // server's included), then completes the queue and gives the flush FlushTimeout.
    public override Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        if (ExecuteTask is { } running)
        {
            try
            {
                await running.WaitAsync(FlushTimeout, timeProvider, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Cancel below; ExecuteAsync counts and logs what is left.
            }
        }

        await base.StopAsync(CancellationToken.None);
    }
}
