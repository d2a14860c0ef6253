using System.Diagnostics.Metrics;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Routing;

/// <summary>The router's instruments, on the service meter ("SmartHub.Mcp"). Tags never carry a key.</summary>
internal sealed class RoutingMetrics
{
    public const string DeploymentTag = "smarthub.deployment";
    public const string OutcomeTag = "smarthub.outcome";
    public const string ReasonTag = "smarthub.reason";
    public const string StateTag = "smarthub.circuit.state";
    public const string StatusTag = "http.response.status_code";

    public RoutingMetrics(ServiceTelemetry telemetry)
        : this(telemetry?.Meter ?? throw new ArgumentNullException(nameof(telemetry)))
    {
    }

    public RoutingMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        Meter = meter;
        Attempts = meter.CreateCounter<long>(
            "smarthub.mcp.routing.attempts",
            "{attempt}",
            "Attempts on a deployment (and deployments skipped), by deployment and outcome.");
        Failures = meter.CreateCounter<long>(
            "smarthub.mcp.routing.failures",
            "{attempt}",
            "Failed or skipped attempts, by deployment and reason (caller cancellations are not failures).");
        AttemptDuration = meter.CreateHistogram<double>(
            "smarthub.mcp.routing.attempt.duration",
            "s",
            "Duration of one attempt (for a stream: to its first delta), by deployment and outcome.");
        Fallbacks = meter.CreateCounter<long>(
            "smarthub.mcp.routing.fallbacks",
            "{fallback}",
            "Moves from a deployment to the next one, by the deployment left and the reason.");
        Unrouted = meter.CreateCounter<long>(
            "smarthub.mcp.routing.unrouted",
            "{call}",
            "Routed calls no deployment answered, by the status answered (429, 502, 503, or the upstream's 400/413/422).");
        CircuitTransitions = meter.CreateCounter<long>(
            "smarthub.mcp.routing.circuit.transitions",
            "{transition}",
            "Circuit breaker state changes, by deployment and new state (open, half_open, closed).");
        RpmFailOpen = meter.CreateCounter<long>(
            "smarthub.mcp.routing.rpm.fail_open",
            "{request}",
            "Requests let through without a requests-per-minute check because Redis was unavailable.");
    }

    public Meter Meter { get; }

    public Counter<long> Attempts { get; }

    public Counter<long> Failures { get; }

    public Histogram<double> AttemptDuration { get; }

    public Counter<long> Fallbacks { get; }

    public Counter<long> Unrouted { get; }

    public Counter<long> CircuitTransitions { get; }

    public Counter<long> RpmFailOpen { get; }
}
