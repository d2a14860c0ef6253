using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartHub.Hosting.Orchestration;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting.Dashboard;

/// <summary>
/// The dashboard inside the AppHost: two small Kestrel servers on 127.0.0.1. One serves the pages (behind the browser
/// token); the other receives the services' telemetry over OTLP/gRPC and OTLP/HTTP (behind a per-run API key) into a
/// bounded <see cref="TelemetryStore"/>. Separate servers, so that no request on the telemetry ports can reach a page.
/// </summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    private readonly WebApplication _ui;
    private readonly WebApplication _otlp;

    private DashboardHost(WebApplication ui, WebApplication otlp, DashboardAuth auth, OtlpApiKey apiKey, TelemetryStore store, int port, int grpcPort, int httpPort)
    {
        _ui = ui;
        _otlp = otlp;
        Auth = auth;
        ApiKey = apiKey;
        Store = store;
        Url = $"http://127.0.0.1:{port}";
        OtlpGrpcEndpoint = $"http://127.0.0.1:{grpcPort}";
        OtlpHttpEndpoint = $"http://127.0.0.1:{httpPort}";
    }

    public DashboardAuth Auth { get; }
    public OtlpApiKey ApiKey { get; }
    public TelemetryStore Store { get; }
    public string Url { get; }

    /// <summary>The link printed at start: it signs the browser in.</summary>
    public string LoginUrl => $"{Url}/login?t={Uri.EscapeDataString(Auth.Token)}";

    public string OtlpGrpcEndpoint { get; }
    public string OtlpHttpEndpoint { get; }

    /// <summary>What the services are given: the receiver for <paramref name="protocol"/>, and the key in the headers.</summary>
    public OtlpExport ExportFor(string protocol) =>
        new(protocol == "grpc" ? OtlpGrpcEndpoint : OtlpHttpEndpoint, protocol, ApiKey.ExporterHeaders);

    public static async Task<DashboardHost> StartAsync(DashboardOptions options, DashboardResources resources, CancellationToken cancellationToken)
    {
        var port = Resolve(options.Port, "SMARTHUB_DASHBOARD_PORT");
        var grpcPort = Resolve(options.OtlpGrpcPort, "SMARTHUB_DASHBOARD_OTLP_GRPC_PORT");
        var httpPort = Resolve(options.OtlpHttpPort, "SMARTHUB_DASHBOARD_OTLP_HTTP_PORT");
        var store = new TelemetryStore(options.Telemetry);
        var auth = new DashboardAuth(options.BrowserToken);
        var apiKey = OtlpApiKey.Generate();

        var ui = CreateBuilder(kestrel => kestrel.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1));
        var uiApp = ui.Build();
        uiApp.UseDashboardAuth(auth);
        uiApp.MapDashboardAssets();
        uiApp.MapDashboardLogin(auth);
        uiApp.MapResourcePages(resources);
        uiApp.MapConsolePages(resources);
        uiApp.MapStructuredLogPages(store);
        uiApp.MapTracePages(store, resources);
        uiApp.MapMetricPages(store);

        var otlp = CreateBuilder(kestrel =>
        {
            // gRPC without TLS is HTTP/2 with prior knowledge: a port of its own. OTLP/HTTP comes as HTTP/1.1.
            kestrel.Listen(IPAddress.Loopback, grpcPort, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, httpPort, l => l.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Limits.MaxRequestBodySize = OtlpHttpReceiver.MaxBodyBytes;
        });
        otlp.Services.AddSingleton(store);
        otlp.Services.AddSingleton(apiKey);
        otlp.Services.AddOtlpGrpc();
        var otlpApp = otlp.Build();
        otlpApp.MapOtlpGrpc();
        otlpApp.MapOtlpHttp(store, apiKey);

        try
        {
            await otlpApp.StartAsync(cancellationToken).ConfigureAwait(false);
            await uiApp.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await otlpApp.DisposeAsync().ConfigureAwait(false);
            await uiApp.DisposeAsync().ConfigureAwait(false);
            throw new DistributedApplicationException($"The dashboard could not listen on 127.0.0.1 ({ex.Message}). Choose other ports with SMARTHUB_DASHBOARD_PORT, SMARTHUB_DASHBOARD_OTLP_GRPC_PORT and SMARTHUB_DASHBOARD_OTLP_HTTP_PORT, or turn it off with SMARTHUB_DASHBOARD_ENABLED=false.", ex);
        }

        return new DashboardHost(uiApp, otlpApp, auth, apiKey, store, port, grpcPort, httpPort);
    }

    private static int Resolve(int port, string setting)
    {
        if (port == 0)
        {
            return PortAllocator.GetFreePort();
        }

        return PortAllocator.IsFree(port)
            ? port
            : throw new DistributedApplicationException($"Port {port} for the dashboard is already in use on 127.0.0.1 (another AppHost?). Stop what uses it, or choose another port with {setting} (0 picks a free one).");
    }

    private static WebApplicationBuilder CreateBuilder(Action<KestrelServerOptions> listen)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "SmartHub.Dashboard",
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The AppHost's console is the graph's: the dashboard's own servers report only their errors there.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new HostConsoleErrorLogger());
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            listen(kestrel);
        });
        return builder;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _ui.StopAsync(timeout.Token).ConfigureAwait(false);
        await _otlp.StopAsync(timeout.Token).ConfigureAwait(false);
        await _ui.DisposeAsync().ConfigureAwait(false);
        await _otlp.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The stylesheet and script, embedded in the AppHost (nothing is downloaded at build or run time).</summary>
internal static class DashboardAssets
{
    private static readonly Dictionary<string, (byte[] Content, string Type)> Files = Load();

    public static void MapDashboardAssets(this WebApplication app) =>
        app.MapGet("/assets/{file}", (string file) => Files.TryGetValue(file, out var asset)
            ? Results.Bytes(asset.Content, asset.Type)
            : Results.NotFound());

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["dashboard/".Length..];
            files[file] = (copy.ToArray(), Path.GetExtension(file) == ".css" ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
        }

        return files;
    }
}

/// <summary>Errors of the dashboard's servers (a failing page, a receiver fault) on the AppHost's console, one line each.</summary>
internal sealed class HostConsoleErrorLogger : ILoggerProvider, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            HostConsole.Error($"dashboard: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}");
        }
    }

    public void Dispose()
    {
    }
}
