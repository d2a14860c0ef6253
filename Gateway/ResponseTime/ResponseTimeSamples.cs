using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.Channels;
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

    /// <summary>XADD MAXLEN ~ this: the stream keeps roughly the latest N samples.</summary>
    [Range(1, 100_000_000)]
    public long MaxStreamLength { get; set; } = 100_000;

    /// <summary>Samples waiting in memory at most; beyond it new ones are dropped (and counted).</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Samples sent per pipelined batch.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 256;
}

/// <summary>
/// One proxied request, as written to the stream (flat string fields): <c>route</c> (route id, e.g. "openai"),
/// <c>path</c>, <c>method</c>, <c>status</c>, <c>duration_ms</c> (gateway in → response completed, 0.001 ms
/// resolution), <c>service</c> (cluster: auth, core, mcp), <c>time</c> (unix ms when it completed),
/// <c>correlation_id</c>.
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

    public Task<string> WriteAsync(IRedisClient redis, string streamKey, long maxLength, CancellationToken cancellationToken) =>
        redis.StreamAddAsync(
            streamKey,
            [
                new(Fields.Route, Route),
                new(Fields.Path, Path.Length > MaxPathLength ? Path[..MaxPathLength] : Path),
                new(Fields.Method, Method),
                new(Fields.Status, (long)Status),
                new(Fields.DurationMs, DurationMs.ToString("0.###", CultureInfo.InvariantCulture)),
                new(Fields.Service, Service),
                new(Fields.Time, TimeUnixMs),
                new(Fields.CorrelationId, CorrelationId ?? ""),
            ],
            maxLength,
            cancellationToken);
}

/// <summary>
/// The bounded queue between requests and the writer: enqueueing is O(1) and never blocks; when the queue is full the
/// new sample is dropped, counted in <c>smarthub.gateway.samples.dropped</c> and logged (at most once a minute, with
/// the number dropped since the last log line). No sample is dropped silently.
/// </summary>
internal sealed class ResponseTimeSampleQueue
{
    public static readonly TimeSpan DropLogInterval = TimeSpan.FromMinutes(1);

    private readonly Channel<ResponseTimeSample> _channel;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private long _dropped;
    private long _droppedSinceLog;
    private readonly LogThrottle _dropLog;

    public ResponseTimeSampleQueue(int capacity, GatewayMetrics metrics, TimeProvider timeProvider, ILogger<ResponseTimeSampleQueue> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        ArgumentNullException.ThrowIfNull(timeProvider);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _dropLog = new LogThrottle(DropLogInterval, timeProvider);
        _channel = Channel.CreateBounded<ResponseTimeSample>(
            new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropWrite,
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
            },
            _ => RecordDrop(1));
    }

    public ChannelReader<ResponseTimeSample> Reader => _channel.Reader;

    /// <summary>Samples dropped since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => _channel.Reader.Count;

    /// <summary>Queues the sample, or drops and counts it when the queue is full (or closed at shutdown).</summary>
    public void Enqueue(in ResponseTimeSample sample)
    {
        if (!_channel.Writer.TryWrite(sample))
        {
            RecordDrop(1); // completed: the gateway is stopping
        }
    }

    /// <summary>No more samples (after the server has stopped); the writer drains what is left.</summary>
    public void Complete() => _channel.Writer.TryComplete();

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
}
