using System.Diagnostics;

namespace SmartHub.Hosting.Orchestration;

/// <summary>Runs the graph: preflight checks, parameters, ports, dependency-ordered start, supervision, ordered stop.</summary>
internal sealed class Orchestrator(IReadOnlyList<Resource> resources, HostOptions options, ResourceNotificationService notifications, TimeProvider time) : IAsyncDisposable
{
    private readonly Dictionary<string, ResourceRunner> _runners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) });
    private readonly Dictionary<string, ResourceLog> _logs = new(StringComparer.Ordinal);
    private StateFolder? _state;
    private bool _started;

    public ResourceLog GetLog(string name)
    {
        lock (_logs)
        {
            return _logs.TryGetValue(name, out var log) ? log : _logs[name] = new ResourceLog(name);
        }
    }

    public TimeSpan StartupElapsed { get; private set; }

    /// <summary>Where projects send telemetry; set before <see cref="StartAsync"/> (the dashboard's receiver once it listens).</summary>
    public OtlpExport? Otlp { get; set; }

    /// <summary>The environment a resource's process was last started with (empty before its start, or without a process).</summary>
    public IReadOnlyDictionary<string, string> GetEnvironment(string name) =>
        _runners.TryGetValue(name, out var runner) ? runner.ProcessEnvironment : new Dictionary<string, string>();

    /// <summary>True for a resource that the stop, start and restart commands apply to (it runs a process).</summary>
    public bool IsControllable(string name) => _runners.TryGetValue(name, out var runner) && runner is ProcessRunner;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_started)
            {
                throw new InvalidOperationException("The application is already started.");
            }

            _started = true;
            var clock = Stopwatch.StartNew();
            HostConsole.Enabled = options.EchoResourceOutput;
            GraphOrder.Levels(resources);
            foreach (var resource in resources)
            {
                notifications.Register(new ResourceSnapshot(resource.Name, resource.KindName, KnownResourceStates.NotStarted, ResourceHealth.Unknown, null, null, null, 0, null, null));
            }

            _state = StateFolder.Open(options.StateDirectory);
            await _state.ReapLeftoversAsync(options.StopTimeout).ConfigureAwait(false);
            var context = new RunContext(options, _state, notifications, time, GetLog, Otlp);
            ResolveParameters(_state);
            AllocatePorts();
            foreach (var resource in resources)
            {
                _runners[resource.Name] = CreateRunner(resource, context);
            }

            var problems = new List<string>();
            foreach (var runner in _runners.Values)
            {
                runner.Validate(problems);
            }

            if (problems.Count > 0)
            {
                throw new DistributedApplicationException("The application cannot start:" + string.Concat(problems.Select(p => Environment.NewLine + "  - " + p)));
            }

            await StartAllAsync(cancellationToken).ConfigureAwait(false);
            StartupElapsed = clock.Elapsed;
        }
        catch
        {
            await StopAllAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartAllAsync(CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = _runners.Values.Select(runner => StartWhenReadyAsync(runner, failed.Token)).ToList();
        var pending = tasks.ToList();
        Exception? first = null;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (done.IsFaulted && first is null)
            {
                first = done.Exception!.InnerException!;
                await failed.CancelAsync().ConfigureAwait(false);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (first is not null)
        {
            throw first is DistributedApplicationException ? first : new DistributedApplicationException(first.Message, first);
        }
    }

    private async Task StartWhenReadyAsync(ResourceRunner runner, CancellationToken cancellationToken)
    {
        var dependencies = runner.Resource.WaitsFor.Select(d => d.Name).ToList();
        if (dependencies.Count > 0)
        {
            notifications.Publish(runner.Resource.Name, s => s with { State = KnownResourceStates.Waiting });
            await Task.WhenAll(dependencies.Select(d => notifications.WaitForResourceHealthyAsync(d, cancellationToken))).ConfigureAwait(false);
        }

        await runner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private void ResolveParameters(StateFolder state)
    {
        foreach (var parameter in resources.OfType<ParameterResource>())
        {
            var configured = options.Parameters.GetValueOrDefault(parameter.Name) ?? parameter.DefaultValue;
            if (configured is not null)
            {
                parameter.Value = configured;
            }
            else if (parameter.Secret)
            {
                (parameter.Value, parameter.GeneratedNow) = state.GetOrCreateParameter(parameter.Name, parameter.GeneratedLength);
            }
            else
            {
                throw new DistributedApplicationException($"Parameter '{parameter.Name}' has no value: set Parameters__{parameter.Name} (or Parameters:{parameter.Name} in configuration).");
            }
        }
    }

    private void AllocatePorts()
    {
        foreach (var resource in resources)
        {
            switch (resource)
            {
                case PostgresServerResource postgres:
                    postgres.Port ??= PortAllocator.GetFreePort();
                    break;
                case RedisResource redis:
                    redis.Port ??= PortAllocator.GetFreePort();
                    break;
                case ProjectResource project:
                    project.Port ??= project.RequestedPort ?? PortAllocator.GetFreePort();
                    break;
            }
        }
    }

    private ResourceRunner CreateRunner(Resource resource, RunContext context) => resource switch
    {
        PostgresServerResource postgres => new PostgresRunner(postgres, context),
        RedisResource redis => new RedisRunner(redis, context),
        ProjectResource project => new ProjectRunner(project, context, _http),
        PostgresDatabaseResource database => new PassiveRunner(database, context, database.Parent),
        _ => new PassiveRunner(resource, context, null),
    };

    public Task StopResourceAsync(string name, CancellationToken cancellationToken) =>
        Runner(name).StopAsync(requested: true).WaitAsync(cancellationToken);

    public Task StartResourceAsync(string name, CancellationToken cancellationToken) =>
        Runner(name).StartAsync(cancellationToken);

    public async Task RestartResourceAsync(string name, CancellationToken cancellationToken)
    {
        var runner = Runner(name);
        await runner.StopAsync(requested: true).WaitAsync(cancellationToken).ConfigureAwait(false);
        await runner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private ResourceRunner Runner(string name) =>
        _runners.TryGetValue(name, out var runner) ? runner : throw new ArgumentException($"There is no running resource named '{name}'.", nameof(name));

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopAllAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Dependents before their dependencies: the gateway, then the services, then PostgreSQL and Redis.</summary>
    private async Task StopAllAsync()
    {
        if (_runners.Count > 0)
        {
            foreach (var level in GraphOrder.Levels(resources).Reverse())
            {
                await Task.WhenAll(level.Where(r => _runners.ContainsKey(r.Name)).Select(r => StopQuietlyAsync(_runners[r.Name]))).ConfigureAwait(false);
            }

            foreach (var runner in _runners.Values)
            {
                runner.Dispose();
            }

            _runners.Clear();
        }

        _state?.Dispose();
        _state = null;
    }

    private static async Task StopQuietlyAsync(ResourceRunner runner)
    {
        try
        {
            await runner.StopAsync(requested: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            HostConsole.Error($"Stopping {runner.Resource.Name} failed: {ex.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _http.Dispose();
        _gate.Dispose();
    }
}

/// <summary>Dependency levels of the graph (WaitFor, references, database → server); rejects cycles.</summary>
internal static class GraphOrder
{
    public static IEnumerable<Resource> DependenciesOf(Resource resource)
    {
        var dependencies = resource.WaitsFor.Concat(resource.References);
        return resource switch
        {
            PostgresDatabaseResource database => dependencies.Append(database.Parent),
            PostgresServerResource server => dependencies.Append(server.Password),
            RedisResource redis => dependencies.Append(redis.Password),
            _ => dependencies,
        };
    }

    public static IReadOnlyList<IReadOnlyList<Resource>> Levels(IReadOnlyList<Resource> resources)
    {
        var level = new Dictionary<Resource, int>();
        var visiting = new HashSet<Resource>();

        int Visit(Resource resource, Stack<Resource> path)
        {
            if (level.TryGetValue(resource, out var known))
            {
                return known;
            }

            if (!visiting.Add(resource))
            {
                var cycle = path.Reverse().SkipWhile(r => r != resource).Select(r => r.Name).Append(resource.Name);
                throw new DistributedApplicationException($"The graph has a cycle: {string.Join(" -> ", cycle)}. WaitFor and WithReference must not loop.");
            }

            path.Push(resource);
            var depth = 0;
            foreach (var dependency in DependenciesOf(resource))
            {
                if (!resources.Contains(dependency))
                {
                    throw new DistributedApplicationException($"{resource} depends on {dependency}, which is not part of this application.");
                }

                depth = Math.Max(depth, Visit(dependency, path) + 1);
            }

            path.Pop();
            visiting.Remove(resource);
            level[resource] = depth;
            return depth;
        }

        foreach (var resource in resources)
        {
            Visit(resource, new Stack<Resource>());
        }

        return [.. level.GroupBy(kv => kv.Value).OrderBy(g => g.Key).Select(g => (IReadOnlyList<Resource>)[.. g.Select(kv => kv.Key)])];
    }
}
