using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// An <see cref="IOpenTelemetryBuilder"/> over the application's own service collection: the
/// role OpenTelemetry.Extensions.Hosting's <c>services.AddOpenTelemetry()</c> plays (that
/// package is not available here). The SDK's <c>WithTracing</c>/<c>WithMetrics</c>/<c>UseOtlpExporter</c>
/// register their providers as singletons of the application container, so they read the
/// application's configuration and are disposed (flushed) when the host shuts down.
/// </summary>
internal sealed class ServiceCollectionOpenTelemetryBuilder : IOpenTelemetryBuilder
{
    public ServiceCollectionOpenTelemetryBuilder(IServiceCollection services)
    {
        // Touching Sdk runs its static constructor: W3C trace context and baggage propagators.
        _ = Sdk.SuppressInstrumentation;
        services.AddOptions();
        Services = services;
    }

    public IServiceCollection Services { get; }
}
