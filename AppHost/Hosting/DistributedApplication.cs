using System.Runtime.InteropServices;
using SmartHub.Hosting.Dashboard;
using SmartHub.Hosting.Orchestration;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting;

/// <summary>The running graph, shaped like Aspire's DistributedApplication.</summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly Orchestrator _orchestrator;
    private DashboardHost? _dashboard;
    private int _disposed;

    internal DistributedApplication(DistributedApplicationBuilder builder, HostOptions options)
    {
        Options = options;
        Resources = builder.Resources;
        ResourceNotifications = new ResourceNotificationService();
        _orchestrator = new Orchestrator(Resources, options, ResourceNotifications, TimeProvider.System);
    }

    public static IDistributedApplicationBuilder CreateBuilder(string[] args) => new DistributedApplicationBuilder(args);

    public HostOptions Options { get; }
    public IReadOnlyList<Resource> Resources { get; }
    public ResourceNotificationService ResourceNotifications { get; }

    /// <summary>
    /// Starts the dashboard and its OTLP receiver (unless turned off), then every resource in dependency order; returns
    /// once all are running and healthy.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Options.Dashboard.Enabled && _dashboard is null)
        {
            _dashboard = await DashboardHost.StartAsync(Options.Dashboard, new DashboardResources(Resources, ResourceNotifications, _orchestrator), cancellationToken).ConfigureAwait(false);
        }

        // An operator's own collector (ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL) wins over the dashboard's receiver.
        _orchestrator.Otlp = Options.OtlpEndpoint is { } external
            ? new OtlpExport(external, Options.OtlpProtocol, null)
            : _dashboard?.ExportFor(Options.Dashboard.OtlpProtocol);
        await _orchestrator.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops services first, then PostgreSQL and Redis.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _orchestrator.StopAsync(cancellationToken);

    /// <summary>Restarts a resource (stop, then start): the dashboard's "restart" command.</summary>
    public Task RestartResourceAsync(string name, CancellationToken cancellationToken = default) => _orchestrator.RestartResourceAsync(name, cancellationToken);

    /// <summary>The dashboard's address once started (null when it is turned off).</summary>
    public Uri? DashboardUrl => _dashboard is null ? null : new Uri(_dashboard.Url);

    /// <summary>The link that signs a browser in to the dashboard (it carries the browser token).</summary>
    public Uri? DashboardLoginUrl => _dashboard is null ? null : new Uri(_dashboard.LoginUrl);

    /// <summary>The dashboard's OTLP/gRPC and OTLP/HTTP receivers (null when it is turned off).</summary>
    public (Uri Grpc, Uri Http)? OtlpEndpoints => _dashboard is null ? null : (new Uri(_dashboard.OtlpGrpcEndpoint), new Uri(_dashboard.OtlpHttpEndpoint));

    /// <summary>The telemetry the dashboard holds (null when it is turned off).</summary>
    public TelemetryStore? Telemetry => _dashboard?.Store;

    /// <summary>Stops one resource on request (no restart follows); the dashboard's and tests' "stop" command.</summary>
    public Task StopResourceAsync(string name, CancellationToken cancellationToken = default) => _orchestrator.StopResourceAsync(name, cancellationToken);

    /// <summary>Starts a resource stopped on request.</summary>
    public Task StartResourceAsync(string name, CancellationToken cancellationToken = default) => _orchestrator.StartResourceAsync(name, cancellationToken);

    public void Run() => RunAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Writes the deployment's description of the graph (<c>--publisher manifest|kubernetes --output-path PATH</c>);
    /// starts nothing. Returns the files written.
    /// </summary>
    public async Task<IReadOnlyList<string>> PublishAsync(CancellationToken cancellationToken = default)
    {
        var publish = Options.Publish ?? throw new InvalidOperationException("Not in publish mode: pass --publisher manifest|kubernetes --output-path PATH.");
        var context = new Publishing.PublishContext(Resources, publish, AppHostMetadata.ProjectDirectory);
        return await Publishing.Publishers.For(publish.Publisher).PublishAsync(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts, waits for Ctrl+C or SIGTERM (or <paramref name="cancellationToken"/>), then stops everything; in publish
    /// mode, publishes instead.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Options.Publish is { } publish)
        {
            try
            {
                var files = await PublishAsync(cancellationToken).ConfigureAwait(false);
                HostConsole.Info($"Published ({publish.Publisher}) {files.Count} file(s) to {publish.OutputPath}.");
            }
            catch (DistributedApplicationException ex)
            {
                HostConsole.Error(ex.Message);
                Environment.ExitCode = 1;
            }

            return;
        }

        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!shutdown.IsCancellationRequested)
            {
                HostConsole.Info($"{context.Signal} received: stopping the graph.");
                shutdown.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
        var started = false;
        try
        {
            await StartAsync(shutdown.Token).ConfigureAwait(false);
            started = true;
            HostConsole.PrintResourceTable(ResourceNotifications.Snapshots, _orchestrator.StartupElapsed, _dashboard?.LoginUrl);
            foreach (var parameter in Resources.OfType<ParameterResource>().Where(p => p.GeneratedNow && p.ShowWhenGenerated))
            {
                HostConsole.Warn($"First start: parameter '{parameter.Name}' was generated: {parameter.Value} — shown only this once; it is kept in {Options.StateDirectory}/parameters.json (mode 0600). Set Parameters__{parameter.Name} to choose your own.");
            }
            await Task.Delay(Timeout.Infinite, shutdown.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        catch (DistributedApplicationException ex)
        {
            // The operator's problem, stated with its fix: no stack trace, a non-zero exit code.
            HostConsole.Error(ex.Message);
            Environment.ExitCode = 1;
        }
        finally
        {
            var stopping = System.Diagnostics.Stopwatch.StartNew();
            await DisposeAsync().ConfigureAwait(false);
            if (started)
            {
                HostConsole.Info($"Stopped every resource in {stopping.Elapsed.TotalSeconds:0.0} s.");
            }
        }
    }

    /// <summary>An HttpClient whose BaseAddress is the resource's HTTP endpoint.</summary>
    public HttpClient CreateHttpClient(string resourceName) => new() { BaseAddress = GetEndpoint(resourceName) };

    public Uri GetEndpoint(string resourceName) =>
        Find<ProjectResource>(resourceName).HttpUrl is { } url
            ? new Uri(url)
            : throw new InvalidOperationException($"Resource '{resourceName}' has no endpoint yet: start the application first.");

    /// <summary>The value of a parameter once the application has started (tests log in with the generated admin password).</summary>
    public string GetParameterValue(string name) =>
        Find<ParameterResource>(name).Value ?? throw new InvalidOperationException($"Parameter '{name}' has no value yet: start the application first.");

    public Task<string?> GetConnectionStringAsync(string resourceName, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Find<IResourceWithConnectionString>(resourceName).GetConnectionString());
    }

    private T Find<T>(string name) where T : class =>
        Resources.FirstOrDefault(r => r.Name == name) switch
        {
            T match => match,
            null => throw new ArgumentException($"There is no resource named '{name}'.", nameof(name)),
            var other => throw new ArgumentException($"{other} is not a {typeof(T).Name}.", nameof(name)),
        };

    /// <summary>The recent output of a resource (bounded).</summary>
    public ResourceLog GetLog(string resourceName) => _orchestrator.GetLog(resourceName);

    /// <summary>Raised once everything is stopped (the testing builder removes its temporary state folder here).</summary>
    internal event Action? Disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _orchestrator.DisposeAsync().ConfigureAwait(false);
            if (_dashboard is not null)
            {
                await _dashboard.DisposeAsync().ConfigureAwait(false);
            }

            Disposed?.Invoke();
        }
    }
}
