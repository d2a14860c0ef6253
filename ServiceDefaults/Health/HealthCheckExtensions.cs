using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.ServiceDefaults.Health;

namespace Microsoft.Extensions.Hosting;

public static class HealthCheckExtensions
{
    /// <summary>Registers the health check service and a "self" check tagged "live".</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy("process is running"), [HealthTags.Live]);

        return builder;
    }

    /// <summary>
    /// <c>/health</c>: readiness, every registered check (dependencies: databases, Redis,
    /// downstream services). <c>/alive</c>: liveness, only the checks tagged "live".
    /// Both answer JSON, 503 when Unhealthy, never cached, anonymous, outside traces.
    /// </summary>
    public static WebApplication MapDefaultHealthEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapHealthChecks(HealthProbePaths.Readiness, new HealthCheckOptions
        {
            Predicate = _ => true,
            ResponseWriter = HealthResponseWriter.WriteAsync,
            AllowCachingResponses = false,
        })
        .WithDisplayName("Readiness probe")
        .AllowAnonymous();

        app.MapHealthChecks(HealthProbePaths.Liveness, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthTags.Live),
            ResponseWriter = HealthResponseWriter.WriteAsync,
            AllowCachingResponses = false,
        })
        .WithDisplayName("Liveness probe")
        .AllowAnonymous();

        return app;
    }
}
