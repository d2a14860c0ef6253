using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// The client's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <see cref="Name"/> (covered by the
/// "SmartHub.*" subscription of the telemetry setup).
/// </summary>
public static class RedisTelemetry
{
    public const string Name = "SmartHub.Redis";

    internal static readonly ActivitySource ActivitySource = new(Name);

    internal static readonly Meter Meter = new(Name);

    internal static readonly Counter<long> Commands =
        Meter.CreateCounter<long>("smarthub.redis.commands", "{command}", "Redis commands completed (any outcome).");

    internal static readonly Counter<long> Errors =
        Meter.CreateCounter<long>("smarthub.redis.errors", "{error}", "Redis commands that failed, by error.type.");

    internal static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("smarthub.redis.command.duration", "s", "Time from sending a Redis command to its reply.");

    internal static readonly Counter<long> Reconnects =
        Meter.CreateCounter<long>("smarthub.redis.reconnects", "{connection}", "Redis connections re-established after a failure.");

    internal static readonly Counter<long> DroppedMessages =
        Meter.CreateCounter<long>("smarthub.redis.pubsub.dropped", "{message}", "Pub/sub messages dropped because handlers fell behind.");

    internal static void RecordFailureBeforeSend(string command, string errorType)
    {
        var tags = new TagList { { "db.operation.name", command }, { "error.type", errorType } };
        Commands.Add(1, tags);
        Errors.Add(1, tags);
    }
}
