using System.ComponentModel.DataAnnotations;
using System.Buffers;
using System.Text.Json;
using System.Collections.Concurrent;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// Response-time samples, section <c>Gateway:ResponseTimeSamples</c>: one per proxied request, to a capped Redis
/// stream that CoreService reads.
/// </summary>
internal sealed class ResponseTimeSampleOptions
{
    public const string SectionName = "Gateway:ResponseTimeSamples";

    public bool Enabled { get; set; } = true;

    [Required(AllowEmptyStrings = false)]
    public string StreamKey { get; set; } = "telemetry:response-times";

    /// <summary>
    /// XADD MAXLEN ~ this: the stream keeps roughly the latest N entries, each a batch of up to <see cref="BatchSize"/>
    /// samples (so between N and N × BatchSize samples; at the defaults at most about 50 MB in Redis).
    /// </summary>
    [Range(1, 10_000_000)]
    public long MaxStreamLength { get; set; } = 1_000;

    /// <summary>Samples waiting in memory at most; beyond it new ones are dropped (and counted).</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Samples per stream entry at most; a full batch waiting wakes the writer before the interval.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 256;

    /// <summary>How often the writer drains the queue into Redis (samples are for monitoring: a quarter second late is fine).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// One proxied request: <c>route</c> (route id, e.g. "openai"), <c>path</c>, <c>method</c>, <c>status</c>,
/// <c>duration_ms</c> (gateway in → response completed, 0.001 ms resolution), <c>service</c> (cluster: auth, core,
/// mcp), <c>time</c> (unix ms when it completed), <c>correlation_id</c>. Written in batches: <see cref="ResponseTimeSampleBatch"/>.
/// </summary>
internal readonly record struct ResponseTimeSample(
    string Route, string Path, string Method, int Status, double DurationMs, string Service, long TimeUnixMs, string? CorrelationId)
{
    public const int MaxPathLength = 256;

    public static class Fields
    {
        public const string Route = "route";
        public const string Path = "path";
        public const string Method = "method";
        public const string Status = "status";
        public const string DurationMs = "duration_ms";
        public const string Service = "service";
        public const string Time = "time";
        public const string CorrelationId = "correlation_id";
    }
}

/// <summary>
/// A batch of samples as one stream entry: fields <c>v</c> (format, "1"), <c>batch</c> (an id kept across retries, so
/// a consumer can drop the duplicate of a batch whose reply was lost), <c>count</c>, and <c>samples</c>, a JSON array
/// of objects with the <see cref="ResponseTimeSample.Fields"/> (numbers as JSON numbers). One XADD per batch instead
/// of one per request: measured at 10k req/s, per-sample XADDs cost Redis about 3 µs of CPU per request, more than
/// the rest of the gateway's Redis traffic together.
/// </summary>
internal static class ResponseTimeSampleBatch
{
    public const string FormatVersion = "1";

    public static class Fields
    {
        public const string Version = "v";
        public const string BatchId = "batch";
        public const string Count = "count";
        public const string Samples = "samples";
    }

    private static readonly JsonWriterOptions s_writerOptions = new() { SkipValidation = true };
    private static readonly JsonEncodedText s_route = JsonEncodedText.Encode(ResponseTimeSample.Fields.Route);
    private static readonly JsonEncodedText s_path = JsonEncodedText.Encode(ResponseTimeSample.Fields.Path);
    private static readonly JsonEncodedText s_method = JsonEncodedText.Encode(ResponseTimeSample.Fields.Method);
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode(ResponseTimeSample.Fields.Status);
    private static readonly JsonEncodedText s_duration = JsonEncodedText.Encode(ResponseTimeSample.Fields.DurationMs);
    private static readonly JsonEncodedText s_service = JsonEncodedText.Encode(ResponseTimeSample.Fields.Service);
    private static readonly JsonEncodedText s_time = JsonEncodedText.Encode(ResponseTimeSample.Fields.Time);
    private static readonly JsonEncodedText s_correlation = JsonEncodedText.Encode(ResponseTimeSample.Fields.CorrelationId);

    /// <summary>Writes the samples as a JSON array into <paramref name="buffer"/>.</summary>
    public static void Encode(IReadOnlyList<ResponseTimeSample> samples, IBufferWriter<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(samples);
        using var json = new Utf8JsonWriter(buffer, s_writerOptions);
        json.WriteStartArray();
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            json.WriteStartObject();
            json.WriteString(s_route, sample.Route);
            json.WriteString(s_path, sample.Path.Length > ResponseTimeSample.MaxPathLength ? sample.Path.AsSpan(0, ResponseTimeSample.MaxPathLength) : sample.Path);
            json.WriteString(s_method, sample.Method);
            json.WriteNumber(s_status, sample.Status);
            json.WriteNumber(s_duration, Math.Round(sample.DurationMs, 3));
            json.WriteString(s_service, sample.Service);
            json.WriteNumber(s_time, sample.TimeUnixMs);
            json.WriteString(s_correlation, sample.CorrelationId ?? "");
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>XADD key MAXLEN ~ n * v 1 batch id count n samples [...].</summary>
    public static Task<string> WriteAsync(
        IRedisClient redis, string streamKey, long maxLength, string batchId, int count, ReadOnlyMemory<byte> samples, CancellationToken cancellationToken) =>
        redis.StreamAddAsync(
            streamKey,
            [
                new(Fields.Version, FormatVersion),
                new(Fields.BatchId, batchId),
                new(Fields.Count, (long)count),
                new(Fields.Samples, samples),
            ],
            maxLength,
            cancellationToken);
}

/// <summary>
/// The bounded queue between requests and the writer: enqueueing is lock-free, O(1) and never blocks; when the queue is
/// full the new sample is dropped, counted in <c>smarthub.gateway.samples.dropped</c> and logged (at most once a
/// minute, with the number dropped since the last log line). No sample is dropped silently.
/// </summary>
/// <remarks>
/// Requests do not wake the writer: it drains the queue every <see cref="ResponseTimeSampleOptions.FlushInterval"/>,
/// or as soon as a full batch is waiting, or when the queue is completed. (A channel whose reader waits for every item
/// woke a thread per request and cost a Redis round trip per handful of samples; measured, that was most of the
/// samples' cost at the gateway.)
/// </remarks>
internal sealed class ResponseTimeSampleQueue
{
    public static readonly TimeSpan DropLogInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentQueue<ResponseTimeSample> _items = new();
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private readonly int _wakeAt;
    private readonly LogThrottle _dropLog;
    private TaskCompletionSource _signal = NewSignal();
    private int _count;
    private long _dropped;
    private long _droppedSinceLog;
    private volatile bool _completed;

    public ResponseTimeSampleQueue(int capacity, GatewayMetrics metrics, TimeProvider timeProvider, ILogger<ResponseTimeSampleQueue> logger, int wakeAt = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(wakeAt, 1);
        _capacity = capacity;
        _wakeAt = Math.Min(wakeAt, capacity);
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        ArgumentNullException.ThrowIfNull(timeProvider);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _dropLog = new LogThrottle(DropLogInterval, timeProvider);
    }

    /// <summary>Samples dropped since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => Volatile.Read(ref _count);

    /// <summary>True once <see cref="Complete"/> was called: nothing more will be queued.</summary>
    public bool IsCompleted => _completed;

    /// <summary>Queues the sample, or drops and counts it when the queue is full (or completed at shutdown).</summary>
    public void Enqueue(in ResponseTimeSample sample)
    {
        if (_completed)
        {
            RecordDrop(1); // the gateway is stopping
            return;
        }

        var count = Interlocked.Increment(ref _count);
        if (count > _capacity)
        {
            Interlocked.Decrement(ref _count);
            RecordDrop(1);
            return;
        }

        _items.Enqueue(sample);
        if (count == _wakeAt)
        {
            Volatile.Read(ref _signal).TrySetResult();
        }
    }

    public bool TryDequeue(out ResponseTimeSample sample)
    {
        if (_items.TryDequeue(out sample))
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

    /// <summary>No more samples (after the server has stopped); the writer drains what is left.</summary>
    public void Complete()
    {
        _completed = true;
        Volatile.Read(ref _signal).TrySetResult();
    }

    /// <summary>Counts samples lost for any reason (full queue, shutdown without Redis) and logs at most once a minute.</summary>
    public void RecordDrop(long count)
    {
        Interlocked.Add(ref _dropped, count);
        Interlocked.Add(ref _droppedSinceLog, count);
        _metrics.SamplesDropped.Add(count);
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
                "Dropped {Count} response-time samples (queue of {Capacity} full: Redis slow or unavailable); {Total} dropped since start",
                count, _capacity, Dropped);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
