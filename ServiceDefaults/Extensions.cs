using SmartHub.ServiceDefaults.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every SmartHub service shares, shaped like Aspire's ServiceDefaults template:
/// telemetry (OTLP, and Prometheus at <c>/metrics</c>), health checks, JSON logs with correlation ids,
/// HttpClient defaults (service discovery, timeouts, idempotent retries) and ProblemDetails.
/// </summary>
public static class Extensions
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.ConfigureStructuredLogging();
        builder.ConfigureOpenTelemetry();
        builder.AddPrometheusMetrics();
        builder.AddDefaultHealthChecks();
        builder.AddServiceDiscovery();
        builder.AddHttpClientDefaults();
        builder.AddDefaultProblemDetails();
        builder.AddInstanceHeartbeat();

        return builder;
    }

    /// <summary>
    /// Adds the default middleware (span enrichment, correlation id, exception handler and status code pages, all
    /// answering with ProblemDetails) and maps <c>/health</c>, <c>/alive</c> and <c>/metrics</c> (Prometheus).
    /// Call it right after <c>Build()</c>, before the service's own middleware and endpoints.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.UseServerActivityEnrichment();
        app.UseCorrelationId();
        app.UseDefaultProblemDetails();
        app.MapDefaultHealthEndpoints();
        app.MapPrometheusMetrics();

        return app;
    }
}
