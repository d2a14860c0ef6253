using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>Section <c>Metrics</c>: the Prometheus endpoint <c>/metrics</c> of every service.</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>False: no <c>/metrics</c> and no listener (nothing is aggregated).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Label combinations kept per metric; measurements with new ones beyond it are dropped and counted.</summary>
    [Range(10, 100_000)]
    public int MaxSeriesPerMetric { get; set; } = 2000;
}

/// <summary>
/// Who may read <c>/metrics</c>. Without one registered the endpoint is anonymous: the internal services answer it on
/// their own ports, which only the cluster reaches (a NetworkPolicy guards them in Kubernetes). A public service
/// registers its rule before <c>MapDefaultEndpoints()</c> (the gateway: an identity with <c>system:read</c>).
/// </summary>
public sealed class MetricsEndpointAccess(Action<IEndpointConventionBuilder> apply)
{
    public void Apply(IEndpointConventionBuilder endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        apply(endpoint);
    }
}
