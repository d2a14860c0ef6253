using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SmartHub.ServiceDefaults.Logging;

namespace SmartHub.ServiceDefaults.Streams;

/// <summary>
/// The bounded buffer between requests and a <see cref="RedisStreamBatchWriter{T}"/>: enqueueing is lock-free, O(1) and
/// never blocks; when the queue is full the new item is dropped, counted (<paramref name="onDropped"/>) and logged (at
/// most once a minute, with the number dropped since the last log line). Nothing is dropped silently.
/// </summary>
/// <remarks>
/// Requests do not wake the writer: it drains the queue every flush interval, or as soon as a full batch
/// (<paramref name="wakeAt"/> items) is waiting, or when the queue is completed. (A channel whose reader waits for
/// every item woke a thread per request and cost a Redis round trip per handful of items; measured at the gateway,
/// that was most of the response-time samples' cost.)
/// </remarks>
public class StreamBatchBuffer<T>(
    int capacity, string itemsName, Action<long>? onDropped, TimeProvider timeProvider, ILogger logger, int wakeAt = 256)
{
    public static readonly TimeSpan DropLogInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentQueue<T> _items = new();
    private readonly int _capacity = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));
    private readonly int _wakeAt = wakeAt >= 1 ? Math.Min(wakeAt, capacity) : throw new ArgumentOutOfRangeException(nameof(wakeAt));
    private readonly string _itemsName = itemsName ?? throw new ArgumentNullException(nameof(itemsName));
    private readonly ILogger _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    private readonly LogThrottle _dropLog = new(DropLogInterval, timeProvider ?? throw new ArgumentNullException(nameof(timeProvider)));
    private TaskCompletionSource _signal = NewSignal();
    private int _count;
    private long _dropped;
    private long _droppedSinceLog;
    private volatile bool _completed;

    /// <summary>What the queue holds, in log lines ("response-time samples", "usage records").</summary>
    public string ItemsName => _itemsName;

    public int Capacity => _capacity;

    /// <summary>Items dropped since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => Volatile.Read(ref _count);

    /// <summary>True once <see cref="Complete"/> was called: nothing more will be queued.</summary>
    public bool IsCompleted => _completed;

    /// <summary>Queues the item, or drops and counts it when the queue is full (or completed at shutdown).</summary>
    /// <returns>False when the item was dropped.</returns>
    public bool Enqueue(in T item)
    {
        if (_completed)
        {
            RecordDrop(1); // the process is stopping
            return false;
        }

        var count = Interlocked.Increment(ref _count);
        if (count > _capacity)
        {
            Interlocked.Decrement(ref _count);
            RecordDrop(1);
            return false;
        }

        _items.Enqueue(item);
        if (count == _wakeAt)
        {
            Volatile.Read(ref _signal).TrySetResult();
        }

        return true;
    }

    public bool TryDequeue(out T item)
    {
        if (_items.TryDequeue(out item!))
        {
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Waits until <paramref name="interval"/> has passed, a full batch is waiting or the queue is completed.
    /// </summary>
    public async Task WaitAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal);
        if (!signal.Task.IsCompleted && !_completed && Count < _wakeAt)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(interval, timeProvider, timeout.Token);
            await Task.WhenAny(signal.Task, delay).ConfigureAwait(false);
            await timeout.CancelAsync().ConfigureAwait(false); // release the timer at once when woken early
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (signal.Task.IsCompleted && !_completed)
        {
            Interlocked.CompareExchange(ref _signal, NewSignal(), signal);
        }
    }

    /// <summary>No more items (after the server has stopped); the writer drains what is left.</summary>
    public void Complete()
    {
        _completed = true;
        Volatile.Read(ref _signal).TrySetResult();
    }

    /// <summary>Counts items lost for any reason (full queue, shutdown without Redis) and logs at most once a minute.</summary>
    public void RecordDrop(long count)
    {
        Interlocked.Add(ref _dropped, count);
        Interlocked.Add(ref _droppedSinceLog, count);
        onDropped?.Invoke(count);
        ReportDrops(force: false);
    }

    /// <summary>Logs the drops since the last report if a minute has passed (or <paramref name="force"/>).</summary>
    public void ReportDrops(bool force)
    {
        if (Interlocked.Read(ref _droppedSinceLog) == 0)
        {
            return;
        }

        if (!_dropLog.TryEnter(force))
        {
            return; // reported within the last minute, or another thread reports
        }

        var count = Interlocked.Exchange(ref _droppedSinceLog, 0);
        if (count > 0)
        {
            _logger.LogWarning(
                "Dropped {Count} {Items} (queue of {Capacity} full: Redis slow or unavailable); {Total} dropped since start",
                count, _itemsName, _capacity, Dropped);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
