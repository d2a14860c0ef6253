using System.Buffers;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Streams;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// Drains <see cref="ResponseTimeSampleQueue"/> into the Redis stream, one entry per batch
/// (<see cref="ResponseTimeSampleBatch"/>); batching, retries and the shutdown flush are <see cref="RedisStreamBatchWriter{T}"/>'s.
/// </summary>
internal sealed class ResponseTimeSampleWriter(
    ResponseTimeSampleQueue queue,
    IRedisClient redis,
    IOptions<ResponseTimeSampleOptions> options,
    GatewayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ResponseTimeSampleWriter> logger) : RedisStreamBatchWriter<ResponseTimeSample>(queue, timeProvider, logger)
{
    private readonly ResponseTimeSampleOptions _options = options.Value;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);

    protected override int BatchSize => _options.BatchSize;

    protected override TimeSpan FlushInterval => _options.FlushInterval;

    protected override Task WriteBatchAsync(IReadOnlyList<ResponseTimeSample> batch, string batchId, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        ResponseTimeSampleBatch.Encode(batch, _buffer);
        return ResponseTimeSampleBatch.WriteAsync(
            redis, _options.StreamKey, _options.MaxStreamLength, batchId, batch.Count, _buffer.WrittenMemory, cancellationToken);
    }

    protected override void OnWritten(int count) => metrics.SamplesWritten.Add(count);
}
