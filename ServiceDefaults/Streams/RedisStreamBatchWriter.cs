using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Streams;

/// <summary>
/// Drains a <see cref="StreamBatchBuffer{T}"/> into a Redis stream, one entry per batch of up to
/// <see cref="BatchSize"/> items, every <see cref="FlushInterval"/> or whenever a full batch is waiting. While Redis is
/// down it keeps its batch (and its batch id) and retries with backoff (250 ms doubling to 5 s); meanwhile the queue
/// absorbs new items up to its bound and drops (and counts) beyond it. On shutdown it keeps running until the web
/// server has stopped (so items of requests finishing during the graceful drain are included), then flushes what is
/// left within <see cref="FlushTimeout"/>.
/// </summary>
public abstract class RedisStreamBatchWriter<T>(StreamBatchBuffer<T> queue, TimeProvider timeProvider, ILogger logger)
    : BackgroundService, IHostedLifecycleService
{
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private bool _failing;

    /// <summary>Items per stream entry at most.</summary>
    protected abstract int BatchSize { get; }

    /// <summary>How often the queue is drained when no full batch is waiting.</summary>
    protected abstract TimeSpan FlushInterval { get; }

    /// <summary>
    /// Writes one batch as one stream entry (XADD). <paramref name="batchId"/> stays the same across retries of a batch,
    /// so a consumer can recognise the duplicate of an entry whose reply was lost.
    /// </summary>
    protected abstract Task WriteBatchAsync(IReadOnlyList<T> batch, string batchId, CancellationToken cancellationToken);

    /// <summary>Called after a batch was written (counters).</summary>
    protected virtual void OnWritten(int count)
    {
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batchSize = BatchSize;
        var batch = new List<T>(batchSize);
        try
        {
            while (true)
            {
                var completed = queue.IsCompleted; // read first: everything queued before completion is drained below
                while (Fill(batch, batchSize))
                {
                    await WriteAsync(batch, stoppingToken);
                    batch.Clear();
                    if (!completed && queue.Count < batchSize)
                    {
                        break; // what arrived during the write waits for the next interval or a full batch: few, full entries
                    }
                }

                queue.ReportDrops(force: false);
                if (completed)
                {
                    break;
                }

                await queue.WaitAsync(FlushInterval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Flush deadline passed: what is still here is lost, and says so.
            var left = batch.Count + queue.Count;
            if (left > 0)
            {
                queue.RecordDrop(left);
                logger.LogWarning("{Count} {Items} could not be written to Redis before shutdown", left, queue.ItemsName);
            }
        }

        queue.ReportDrops(force: true);
    }

    private bool Fill(List<T> batch, int batchSize)
    {
        while (batch.Count < batchSize && queue.TryDequeue(out var item))
        {
            batch.Add(item);
        }

        return batch.Count > 0;
    }

    /// <summary>Writes the batch as one stream entry, retrying until it is written or the writer stops.</summary>
    private async Task WriteAsync(List<T> batch, CancellationToken stoppingToken)
    {
        var batchId = Guid.NewGuid().ToString("N");
        var backoff = MinBackoff;
        while (true)
        {
            try
            {
                await WriteBatchAsync(batch, batchId, stoppingToken);
                OnWritten(batch.Count);
                if (_failing)
                {
                    _failing = false;
                    logger.LogInformation("{Items} are written to Redis again", queue.ItemsName);
                }

                return;
            }
#pragma warning disable CA1031 // whatever the failure, the batch stays and is retried: items are never lost to an exception
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                if (!_failing)
                {
                    _failing = true;
                    logger.LogWarning(
                        "{Items} cannot be written to Redis ({Error}); retrying, up to {Capacity} wait in memory",
                        queue.ItemsName, ex.Message, queue.Capacity);
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
