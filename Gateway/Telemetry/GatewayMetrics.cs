using System.Diagnostics.Metrics;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.Gateway.Telemetry;

/// <summary>The gateway's own instruments, on the service meter ("SmartHub.Gateway"), exported with the defaults.</summary>
internal sealed class GatewayMetrics
{
    public GatewayMetrics(ServiceTelemetry telemetry)
        : this(telemetry?.Meter ?? throw new ArgumentNullException(nameof(telemetry)))
    {
    }

    public GatewayMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);

        RateLimitFallback = meter.CreateCounter<long>(
            "smarthub.gateway.ratelimit.fallback",
            "{request}",
            "Rate-limit decisions taken by this replica's local in-memory buckets because Redis was unavailable.");
        RateLimitFallbackActive = meter.CreateUpDownCounter<long>(
            "smarthub.gateway.ratelimit.fallback.active",
            "{replica}",
            "1 while this replica enforces rate limits locally (Redis unavailable), 0 while it uses the shared Redis buckets.");
        RateLimitRejected = meter.CreateCounter<long>(
            "smarthub.gateway.ratelimit.rejected",
            "{request}",
            "Requests refused with 429, by scope (api, auth).");
        SamplesDropped = meter.CreateCounter<long>(
            "smarthub.gateway.samples.dropped",
            "{sample}",
            "Response-time samples dropped because the in-memory queue was full (Redis slow or down) or left over at shutdown.");
        SamplesWritten = meter.CreateCounter<long>(
            "smarthub.gateway.samples.written",
            "{sample}",
            "Response-time samples written to the Redis stream.");
    }

    public Counter<long> RateLimitFallback { get; }

    public UpDownCounter<long> RateLimitFallbackActive { get; }

    public Counter<long> RateLimitRejected { get; }

    public Counter<long> SamplesDropped { get; }

    public Counter<long> SamplesWritten { get; }
}
