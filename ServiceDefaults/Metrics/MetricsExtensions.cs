using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Health;
using SmartHub.ServiceDefaults.Metrics;
using SmartHub.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

public static class MetricsExtensions
{
    /// <summary>
    /// Options (section <c>Metrics</c>, validated at start) and, when enabled, the <see cref="PrometheusMetricsCollector"/>
    /// over the telemetry meters, started with the host.
    /// </summary>
    public static TBuilder AddPrometheusMetrics<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOptions<MetricsOptions>()
            .BindConfiguration(MetricsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(services => new PrometheusMetricsCollector(
            services.GetRequiredService<IOptions<MetricsOptions>>().Value.MaxSeriesPerMetric,
            TelemetryNames.Meters,
            services.GetService<IMeterFactory>(),
            services.GetService<ILogger<PrometheusMetricsCollector>>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PrometheusMetricsStartupService>());

        return builder;
    }

    /// <summary>
    /// <c>GET /metrics</c>: the Prometheus text exposition (0.0.4). Anonymous unless the service registered a
    /// <see cref="MetricsEndpointAccess"/>. Scrapes are not recorded in <c>http.server.request.duration</c> (a scraper
    /// would otherwise measure itself) and, as a probe path, not traced.
    /// </summary>
    public static IEndpointRouteBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        var endpoint = endpoints.MapGet(HealthProbePaths.Metrics, WriteMetricsAsync)
            .WithDisplayName("Prometheus metrics")
            .ExcludeFromDescription()
            .DisableHttpMetrics();
        if (endpoints.ServiceProvider.GetService<MetricsEndpointAccess>() is { } access)
        {
            access.Apply(endpoint);
        }
        else
        {
            endpoint.AllowAnonymous();
        }

        return endpoints;
    }

    private static Task WriteMetricsAsync(HttpContext context, PrometheusMetricsCollector collector)
    {
        var text = collector.Collect();
        context.Response.ContentType = PrometheusMetricsCollector.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
