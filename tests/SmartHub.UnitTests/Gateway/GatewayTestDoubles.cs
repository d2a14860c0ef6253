using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Gateway;

/// <summary>A clock the test moves by hand (timestamps and UTC time; no timers).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = TimeSpan.FromDays(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Collects log entries (level and formatted message).</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>The gateway's instruments on a private meter, with a listener summing what they record.</summary>
internal sealed class MetricsProbe : IDisposable
{
    private readonly Meter _meter = new("SmartHub.Gateway.Tests." + Guid.NewGuid().ToString("N"));
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _totals = [];

    public MetricsProbe()
    {
        Metrics = new GatewayMetrics(_meter);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (_totals)
            {
                _totals[instrument.Name] = _totals.GetValueOrDefault(instrument.Name) + value;
            }
        });
        _listener.Start();
    }

    public GatewayMetrics Metrics { get; }

    public long Total(string instrument)
    {
        lock (_totals)
        {
            return _totals.GetValueOrDefault(instrument);
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
    }
}

/// <summary>An <see cref="IRedisClient"/> whose behaviour the test switches: answer, fail, or hang.</summary>
internal sealed class ScriptedRedis : IRedisClient
{
    public enum Mode { Answer, Fail, Hang }

    public volatile Mode Behaviour = Mode.Answer;

    private int _calls;

    public Func<RedisResult> Reply { get; set; } = () => RedisResult.FromArray(
        [RedisResult.FromInteger(1), RedisResult.FromInteger(5), RedisResult.FromInteger(1500), RedisResult.FromInteger(0)]);

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, answers wait until it completes (a Redis round trip the test controls).</summary>
    public TaskCompletionSource? Gate { get; set; }

    public DnsEndPoint EndPoint { get; } = new("127.0.0.1", 6379);

    public bool IsConnected => Behaviour == Mode.Answer;

    public Task<RedisResult> ExecuteAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return Behaviour switch
        {
            Mode.Answer => Gate is { } gate ? AnswerAfterAsync(gate.Task) : Task.FromResult(Reply()),
            Mode.Fail => Task.FromException<RedisResult>(new RedisConnectionException("Redis at 127.0.0.1:6379 is unavailable: Connection refused")),
            _ => new TaskCompletionSource<RedisResult>().Task,
        };
    }

    private async Task<RedisResult> AnswerAfterAsync(Task gate)
    {
        await gate;
        return Reply();
    }

    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Task.FromResult(TimeSpan.Zero);

    public Task<RedisSubscription> SubscribeAsync(
        string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}
