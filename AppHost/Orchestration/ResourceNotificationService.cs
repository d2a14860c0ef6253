using System.Collections.Concurrent;

namespace SmartHub.Hosting;

/// <summary>Lifecycle states, named as Aspire's KnownResourceStates.</summary>
public static class KnownResourceStates
{
    public const string NotStarted = "NotStarted";
    public const string Waiting = "Waiting";
    public const string Starting = "Starting";
    public const string Running = "Running";
    public const string Stopping = "Stopping";
    public const string Exited = "Exited";
    public const string Restarting = "Restarting";
    public const string FailedToStart = "FailedToStart";
    public const string Finished = "Finished";
}

public enum ResourceHealth
{
    Unknown,
    Healthy,
    Unhealthy,
}

/// <summary>What the AppHost knows about one resource at one moment.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string Kind,
    string State,
    ResourceHealth Health,
    int? ProcessId,
    string? Endpoint,
    int? ExitCode,
    int RestartCount,
    DateTimeOffset? StartedAt,
    string? HealthDescription)
{
    public bool IsHealthy => State == KnownResourceStates.Running && Health == ResourceHealth.Healthy;
}

/// <summary>Publishes resource snapshots and lets callers wait for a state, as Aspire's ResourceNotificationService.</summary>
public sealed class ResourceNotificationService
{
    private readonly ConcurrentDictionary<string, ResourceSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = NewSignal();

    public IReadOnlyCollection<ResourceSnapshot> Snapshots => [.. _snapshots.Values.OrderBy(s => s.Name, StringComparer.Ordinal)];

    public bool TryGetSnapshot(string name, out ResourceSnapshot snapshot) => _snapshots.TryGetValue(name, out snapshot!);

    public ResourceSnapshot GetSnapshot(string name) =>
        _snapshots.TryGetValue(name, out var snapshot) ? snapshot : throw new ArgumentException($"There is no resource named '{name}'.", nameof(name));

    internal void Publish(string name, Func<ResourceSnapshot, ResourceSnapshot> update)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            _snapshots[name] = update(_snapshots[name]);
            signal = _changed;
            _changed = NewSignal();
        }

        signal.TrySetResult();
    }

    internal void Register(ResourceSnapshot snapshot) => _snapshots[snapshot.Name] = snapshot;

    /// <summary>Waits until the resource's snapshot satisfies <paramref name="predicate"/>.</summary>
    public async Task<ResourceSnapshot> WaitForResourceAsync(string name, Func<ResourceSnapshot, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var snapshot = GetSnapshot(name);
                if (predicate(snapshot))
                {
                    return snapshot;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<ResourceSnapshot> WaitForResourceAsync(string name, string state, CancellationToken cancellationToken = default) =>
        WaitForResourceAsync(name, s => s.State == state, cancellationToken);

    /// <summary>Waits until the resource runs and its health check passes.</summary>
    public Task<ResourceSnapshot> WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken = default) =>
        WaitForResourceAsync(name, s => s.IsHealthy, cancellationToken);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
