using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Streams;

namespace SmartHub.ServiceDefaults.Usage;

/// <summary>Section <c>Usage:Recorder</c>: how a service sends usage records to CoreService.</summary>
public sealed class UsageRecorderOptions
{
    public const string SectionName = "Usage:Recorder";

    [Required(AllowEmptyStrings = false)]
    public string StreamKey { get; set; } = "usage:records";

    /// <summary>Records waiting in memory at most (while Redis is unreachable); beyond it new ones are dropped and counted.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 100_000;

    [Range(1, 5_000)]
    public int BatchSize { get; set; } = 500;

    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Records usage off the request path: <see cref="StreamBatchBuffer{T}.Enqueue"/> never blocks; a background writer
/// sends batches to the Redis stream that CoreService stores from. Drops (queue full while Redis is down) are counted
/// in <c>smarthub.usage.records.dropped</c> and logged.
/// </summary>
public sealed class UsageRecorder(UsageRecorderOptions options, UsageMetrics metrics, TimeProvider timeProvider, ILogger<UsageRecorder> logger)
    : StreamBatchBuffer<UsageRecord>(options.QueueCapacity, "usage records", metrics.Dropped.Add, timeProvider, logger, options.BatchSize);

public sealed class UsageMetrics
{
    public const string MeterName = "SmartHub.Usage";

    public UsageMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Written = meter.CreateCounter<long>("smarthub.usage.records.written", "{record}", "Usage records written to the Redis stream");
        Dropped = meter.CreateCounter<long>("smarthub.usage.records.dropped", "{record}", "Usage records dropped (queue full while Redis was unreachable, or at shutdown)");
    }

    public Counter<long> Written { get; }

    public Counter<long> Dropped { get; }
}

internal sealed class UsageRecordWriter(
    UsageRecorder recorder, IRedisClient redis, UsageRecorderOptions options, UsageMetrics metrics, TimeProvider timeProvider, ILogger<UsageRecordWriter> logger)
    : RedisStreamBatchWriter<UsageRecord>(recorder, timeProvider, logger)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);

    protected override int BatchSize => options.BatchSize;

    protected override TimeSpan FlushInterval => options.FlushInterval;

    protected override Task WriteBatchAsync(IReadOnlyList<UsageRecord> batch, string batchId, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        UsageRecordBatch.Encode(batch, _buffer);
        return UsageRecordBatch.WriteAsync(redis, options.StreamKey, batchId, batch.Count, _buffer.WrittenMemory, cancellationToken);
    }

    protected override void OnWritten(int count) => metrics.Written.Add(count);
}

public static class UsageRecorderExtensions
{
    /// <summary><see cref="UsageRecorder"/> and its writer (needs <c>AddRedisClient("cache")</c>).</summary>
    public static IHostApplicationBuilder AddUsageRecorder(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<UsageRecorderOptions>().BindConfiguration(UsageRecorderOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<UsageMetrics>();
        builder.Services.AddSingleton(services => new UsageRecorder(
            services.GetRequiredService<IOptions<UsageRecorderOptions>>().Value,
            services.GetRequiredService<UsageMetrics>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<UsageRecorder>>()));
        builder.Services.AddHostedService(services => new UsageRecordWriter(
            services.GetRequiredService<UsageRecorder>(),
            services.GetRequiredService<IRedisClient>(),
            services.GetRequiredService<IOptions<UsageRecorderOptions>>().Value,
            services.GetRequiredService<UsageMetrics>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<UsageRecordWriter>>()));
        return builder;
    }
}
