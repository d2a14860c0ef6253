namespace SmartHub.Hosting.Orchestration;

/// <summary>Starts, watches and stops one resource.</summary>
internal abstract class ResourceRunner(Resource resource, RunContext context) : IDisposable
{
    public virtual void Dispose()
    {
    }

    public Resource Resource { get; } = resource;
    protected RunContext Context { get; } = context;
    protected ResourceNotificationService Notifications => Context.Notifications;

    /// <summary>Starts the resource and returns once it is healthy.</summary>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    public abstract Task StopAsync(bool requested);

    /// <summary>Checks done before anything starts (binaries present, outputs built, ports free).</summary>
    public virtual void Validate(List<string> problems)
    {
    }

    /// <summary>The environment the resource's process was last started with (empty for resources without a process).</summary>
    public virtual IReadOnlyDictionary<string, string> ProcessEnvironment => new Dictionary<string, string>();

    protected void Publish(Func<ResourceSnapshot, ResourceSnapshot> update) => Notifications.Publish(Resource.Name, update);
}

/// <summary>What runners share.</summary>
internal sealed class RunContext(HostOptions options, StateFolder state, ResourceNotificationService notifications, TimeProvider time, Func<string, ResourceLog> logs, OtlpExport? otlp)
{
    public HostOptions Options { get; } = options;

    /// <summary>Where the services send their telemetry (the dashboard's receiver, or an operator's collector); null: nowhere.</summary>
    public OtlpExport? Otlp { get; } = otlp;
    public StateFolder State { get; } = state;
    public ResourceNotificationService Notifications { get; } = notifications;
    public TimeProvider Time { get; } = time;
    public ResourceLog LogFor(string resource) => logs(resource);
}

/// <summary>An OTLP destination given to every project: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>_PROTOCOL</c> and <c>_HEADERS</c>.</summary>
public sealed record OtlpExport(string Endpoint, string Protocol, string? Headers);

/// <summary>Resources without a process of their own (parameters, databases) that are ready once their parent is.</summary>
internal sealed class PassiveRunner(Resource resource, RunContext context, Resource? parent) : ResourceRunner(resource, context)
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (parent is not null)
        {
            Publish(s => s with { State = KnownResourceStates.Waiting });
            await Notifications.WaitForResourceHealthyAsync(parent.Name, cancellationToken).ConfigureAwait(false);
        }

        var endpoint = Resource is PostgresDatabaseResource database ? $"{Notifications.GetSnapshot(database.Parent.Name).Endpoint}/{database.DatabaseName}" : null;
        Publish(s => s with { State = KnownResourceStates.Running, Health = ResourceHealth.Healthy, StartedAt = Context.Time.GetUtcNow(), Endpoint = endpoint });
    }

    public override Task StopAsync(bool requested)
    {
        Publish(s => s with { State = KnownResourceStates.Finished, Health = ResourceHealth.Unknown });
        return Task.CompletedTask;
    }
}

/// <summary>
/// A resource that is an OS process: started, health-checked until ready, probed periodically, restarted with
/// exponential backoff when it exits unexpectedly, and stopped gracefully (then killed) on request.
/// </summary>
internal abstract partial class ProcessRunner(Resource resource, RunContext context) : ResourceRunner(resource, context)
{
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(60);
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private CancellationTokenSource _run = new();
    private ManagedProcess? _process;
    private ProcessSpec? _spec;
    private Task? _supervisor;
    private int _restarts;

    protected ResourceLog Log => Context.LogFor(Resource.Name);

    public int? ProcessId => _process?.Pid;

    public override IReadOnlyDictionary<string, string> ProcessEnvironment => _spec?.Environment ?? new Dictionary<string, string>();

    /// <summary>Prepares files (initdb, config) before the first start.</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract ProcessSpec CreateSpec();

    /// <summary>One readiness probe; throws <see cref="DistributedApplicationException"/> for a failure that retrying will not fix.</summary>
    protected abstract Task<(bool Healthy, string? Description)> ProbeAsync(CancellationToken cancellationToken);

    /// <summary>Runs once the process answers its probe, before it counts as healthy (creating databases).</summary>
    protected virtual Task OnReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract string? Endpoint { get; }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_supervisor is { IsCompleted: false })
            {
                // Running, or being restarted by its supervisor: a second start would run two processes.
                return;
            }

            _run.Dispose();
            _run = new CancellationTokenSource();
            await PrepareAsync(cancellationToken).ConfigureAwait(false);
            await StartOnceAsync(cancellationToken).ConfigureAwait(false);
            _supervisor = Task.Run(() => SuperviseAsync(_run.Token), CancellationToken.None);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StartOnceAsync(CancellationToken cancellationToken)
    {
        Publish(s => s with { State = KnownResourceStates.Starting, Health = ResourceHealth.Unknown, ExitCode = null, Endpoint = Endpoint });
        _spec = CreateSpec();
        var process = ManagedProcess.Start(_spec, Log);
        _process = process;
        Context.State.RecordProcess(Resource.Name, process);
        Publish(s => s with { ProcessId = process.Pid, StartedAt = Context.Time.GetUtcNow() });
        try
        {
            await WaitUntilReadyAsync(process, cancellationToken).ConfigureAwait(false);
            await OnReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await process.StopAsync(Context.Options.StopTimeout).ConfigureAwait(false);
            Context.State.ForgetProcess(Resource.Name);
            Publish(s => s with { State = KnownResourceStates.FailedToStart, Health = ResourceHealth.Unhealthy, ExitCode = process.Exited.IsCompleted ? process.Exited.Result : null });
            throw;
        }

        Publish(s => s with { State = KnownResourceStates.Running, Health = ResourceHealth.Healthy, HealthDescription = null });
    }

    private async Task WaitUntilReadyAsync(ManagedProcess process, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Context.Options.StartupTimeout);
        string? last = null;
        var delay = TimeSpan.FromMilliseconds(25);
        while (true)
        {
            if (process.HasExited)
            {
                throw new DistributedApplicationException(
                    $"{Resource} exited during start-up with code {process.Exited.Result}.{FormatTail()}");
            }

            try
            {
                (var healthy, last) = await ProbeAsync(timeout.Token).ConfigureAwait(false);
                if (healthy)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
            }

            try
            {
                await Task.WhenAny(process.Exited, Task.Delay(delay, timeout.Token)).ConfigureAwait(false);
                timeout.Token.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DistributedApplicationException(
                    $"{Resource} did not become healthy within {Context.Options.StartupTimeout.TotalSeconds:0} s{(last is null ? "" : $" (last check: {last})")}.{FormatTail()}");
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    /// <summary>The recent output worth showing in a failure: error lines first (not stack frames), then the last lines.</summary>
    protected string FormatTail()
    {
        var tail = Log.Tail(200);
        if (tail.Count == 0)
        {
            return " It printed nothing.";
        }

        static bool IsStackFrame(string line) => line.TrimStart().StartsWith("at ", StringComparison.Ordinal) || line.TrimStart().StartsWith("---", StringComparison.Ordinal);
        static string Clip(string line) => line.Length > 400 ? line[..400] + "…" : line;
        // A dying process prints its fatal error last: prefer the last error lines, an unhandled exception first of all.
        var candidates = tail.Where(l => !IsStackFrame(l) && ErrorLine().IsMatch(l)).Distinct().ToList();
        var errors = candidates.Where(l => l.StartsWith("Unhandled exception", StringComparison.Ordinal))
            .Concat(candidates.TakeLast(6)).Distinct().Take(6).ToList();
        var last = tail.Where(l => !IsStackFrame(l) && !errors.Contains(l)).TakeLast(6);
        return $" Its output (errors, then the last lines):{Environment.NewLine}    {string.Join(Environment.NewLine + "    ", errors.Concat(last).Select(Clip))}";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"exception|error|fatal|panic|failed|refused|denied", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex ErrorLine();

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var process = _process!;
            var exited = await WatchHealthUntilExitAsync(process, stopping).ConfigureAwait(false);
            if (!exited || stopping.IsCancellationRequested)
            {
                return;
            }

            var code = process.Exited.Result;
            var ranFor = Context.Time.GetUtcNow() - (Notifications.GetSnapshot(Resource.Name).StartedAt ?? Context.Time.GetUtcNow());
            if (ranFor > StableAfter)
            {
                _restarts = 0;
            }

            Context.State.ForgetProcess(Resource.Name);
            while (!stopping.IsCancellationRequested)
            {
                var backoff = Backoff(_restarts++);
                Publish(s => s with { State = KnownResourceStates.Restarting, Health = ResourceHealth.Unhealthy, ExitCode = code, ProcessId = null, RestartCount = s.RestartCount + 1 });
                HostConsole.Warn($"{Resource.Name} exited unexpectedly with code {code}; restarting in {backoff.TotalSeconds:0.#} s (restart {_restarts}).");
                try
                {
                    await Task.Delay(backoff, Context.Time, stopping).ConfigureAwait(false);
                    await _lifecycle.WaitAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                try
                {
                    await StartOnceAsync(stopping).ConfigureAwait(false);
                    HostConsole.Info($"{Resource.Name} is healthy again (PID {_process!.Pid}).");
                    break;
                }
                catch (Exception ex) when (ex is DistributedApplicationException or OperationCanceledException or IOException)
                {
                    if (stopping.IsCancellationRequested)
                    {
                        return;
                    }

                    HostConsole.Error($"{Resource.Name} failed to restart: {ex.Message}");
                }
                finally
                {
                    _lifecycle.Release();
                }
            }
        }
    }

    /// <summary>Probes health every HealthInterval until the process exits (true) or stopping is requested (false).</summary>
    private async Task<bool> WatchHealthUntilExitAsync(ManagedProcess process, CancellationToken stopping)
    {
        while (true)
        {
            var tick = Task.Delay(Context.Options.HealthInterval, Context.Time, stopping);
            var finished = await Task.WhenAny(process.Exited, tick).ConfigureAwait(false);
            if (stopping.IsCancellationRequested)
            {
                return false;
            }

            if (finished == process.Exited)
            {
                return true;
            }

            (bool Healthy, string? Description) result;
            try
            {
                using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                probeTimeout.CancelAfter(TimeSpan.FromSeconds(5));
                result = await ProbeAsync(probeTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DistributedApplicationException or OperationCanceledException or IOException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return false;
                }

                result = (false, ex.Message);
            }

            if (!process.HasExited)
            {
                var health = result.Healthy ? ResourceHealth.Healthy : ResourceHealth.Unhealthy;
                Publish(s => s.Health == health && s.HealthDescription == result.Description ? s : s with { Health = health, HealthDescription = result.Description });
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var min = Context.Options.RestartBackoffMin.TotalMilliseconds;
        var ms = Math.Min(Context.Options.RestartBackoffMax.TotalMilliseconds, min * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(ms);
    }

    public override void Dispose()
    {
        _run.Dispose();
        _lifecycle.Dispose();
        base.Dispose();
    }

    public override async Task StopAsync(bool requested)
    {
        await _run.CancelAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_supervisor is not null)
            {
                await _supervisor.ConfigureAwait(false);
                _supervisor = null;
            }

            if (_process is { } process)
            {
                Publish(s => s with { State = KnownResourceStates.Stopping });
                await process.StopAsync(Context.Options.StopTimeout).ConfigureAwait(false);
                Context.State.ForgetProcess(Resource.Name);
                Publish(s => s with { State = KnownResourceStates.Finished, Health = ResourceHealth.Unknown, ExitCode = process.Exited.Result, ProcessId = null });
                _process = null;
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }
}
