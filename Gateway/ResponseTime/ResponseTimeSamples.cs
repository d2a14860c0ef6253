using System.ComponentModel.DataAnnotations;
using System.Buffers;
using System.Text.Json;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Streams;

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

/// <summary>The gateway's queue of samples: drops are counted in <c>smarthub.gateway.samples.dropped</c>.</summary>
internal sealed class ResponseTimeSampleQueue(
    int capacity, GatewayMetrics metrics, TimeProvider timeProvider, ILogger<ResponseTimeSampleQueue> logger, int wakeAt = 256)
    : StreamBatchBuffer<ResponseTimeSample>(capacity, "response-time samples", metrics.SamplesDropped.Add, timeProvider, logger, wakeAt);
