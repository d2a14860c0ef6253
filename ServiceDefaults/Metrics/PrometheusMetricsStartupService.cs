using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>Starts the collector as the host starts, so it counts from the first request.</summary>
internal sealed class PrometheusMetricsStartupService(IServiceProvider services, IOptions<MetricsOptions> options) : StartingHostedService
{
    protected override void OnStarting()
    {
        if (options.Value.Enabled)
        {
            services.GetRequiredService<PrometheusMetricsCollector>().Start();
        }
    }
}
