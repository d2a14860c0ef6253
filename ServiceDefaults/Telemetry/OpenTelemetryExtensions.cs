using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmartHub.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

public static class OpenTelemetryExtensions
{
    private const string AspNetCoreSuppressOpenTelemetryDataSwitch = "Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData";

    /// <summary>
    /// Traces, metrics and logs through the OpenTelemetry SDK, subscribed to the native sources
    /// of ASP.NET Core, HttpClient, YARP, Npgsql and SmartHub. Exported over OTLP only when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter itself reads OTEL_EXPORTER_OTLP_PROTOCOL
    /// and OTEL_EXPORTER_OTLP_HEADERS; the resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES).
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        var telemetryName = ServiceTelemetry.NameFor(builder.Environment.ApplicationName);
        builder.Services.TryAddSingleton(_ => new ServiceTelemetry(telemetryName));

        // Nothing is collected unless something exports it: without an OTLP endpoint nothing listens to activity
        // sources, so requests record no spans, and measurements go only to /metrics (AddPrometheusMetrics, a listener
        // of its own). ASP.NET Core still starts its request activity (for log scopes, whenever logging is on): that
        // gives logs, ProblemDetails and outgoing calls their W3C trace id, and TraceContextPropagation writes it as
        // traceparent downstream. (A propagation-only listener
        // did the same but made ASP.NET Core build the activity's creation tags for the sampler on every request:
        // measured, about 2% of the gateway's CPU per proxied request.)
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            TraceContextPropagation.UseManual();
            return builder;
        }

        // ASP.NET Core (10+) fills its server activity with OpenTelemetry's semantic conventions
        // (url.path and http.request.method at creation, http.route, status code, display name)
        // only when this switch is off; it is on by default for the instrumentation package,
        // which is not available here. With it off, the probe sampler can see the path.
        AppContext.SetSwitch(AspNetCoreSuppressOpenTelemetryDataSwitch, false);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var fallbackAttributes = TelemetryResource.FallbackAttributes(
            builder.Configuration["OTEL_SERVICE_NAME"],
            builder.Configuration["OTEL_RESOURCE_ATTRIBUTES"],
            builder.Environment.ApplicationName,
            builder.Environment.EnvironmentName);

        new ServiceCollectionOpenTelemetryBuilder(builder.Services)
            .ConfigureResource(resource => resource.AddAttributes(fallbackAttributes))
            .WithMetrics(metrics => metrics.AddMeter([.. TelemetryNames.Meters]))
            .WithTracing(tracing => tracing
                .AddSource([.. TelemetryNames.ActivitySources])
                .SetSampler(new HealthProbeSampler(new ParentBasedSampler(new AlwaysOnSampler()))))
            .UseOtlpExporter();

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OpenTelemetryStartupService>());

        return builder;
    }

    /// <summary>Adds the route, status code and error status to ASP.NET Core's server spans.</summary>
    public static IApplicationBuilder UseServerActivityEnrichment(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<ServerActivityEnricherMiddleware>();
    }
}
