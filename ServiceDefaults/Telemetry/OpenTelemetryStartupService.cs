using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// Builds the tracer and meter providers when the host starts (they are lazy singletons, and an
/// unbuilt provider listens to nothing). The container disposes them on shutdown, which flushes
/// the exporters.
/// </summary>
internal sealed class OpenTelemetryStartupService(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _ = services.GetService<MeterProvider>();
        _ = services.GetService<TracerProvider>();
        _ = services.GetService<LoggerProvider>();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
