using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// Builds the tracer and meter providers when the host starts (they are lazy singletons, and an
/// unbuilt provider listens to nothing). The container disposes them on shutdown, which flushes
/// the exporters.
/// </summary>
internal sealed class OpenTelemetryStartupService(IServiceProvider services) : StartingHostedService
{
    protected override void OnStarting()
    {
        _ = services.GetService<MeterProvider>();
        _ = services.GetService<TracerProvider>();
        _ = services.GetService<LoggerProvider>();
    }
}
