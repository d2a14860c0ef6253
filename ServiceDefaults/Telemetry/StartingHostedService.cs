using Microsoft.Extensions.Hosting;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// A hosted service that acts only as the host starts (<see cref="IHostedLifecycleService.StartingAsync"/>: before the
/// other hosted services start and before the server listens), so telemetry is in place for the first request.
/// </summary>
internal abstract class StartingHostedService : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        OnStarting();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract void OnStarting();
}
