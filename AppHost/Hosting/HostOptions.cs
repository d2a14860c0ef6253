using Microsoft.Extensions.Configuration;
using SmartHub.Hosting.Dashboard;

namespace SmartHub.Hosting;

/// <summary>How the AppHost runs the graph locally. Read from configuration (environment variables, command line).</summary>
public sealed record HostOptions
{
    /// <summary>Data of PostgreSQL and Redis, generated parameters, the PID ledger. Env <c>SMARTHUB_STATE_DIR</c>.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Folder of initdb and postgres. Env <c>SMARTHUB_POSTGRES_BIN</c>; default: the newest /usr/lib/postgresql/*/bin.</summary>
    public string? PostgresBinDirectory { get; init; }

    /// <summary>Env <c>SMARTHUB_REDIS_SERVER</c>; default: redis-server on PATH.</summary>
    public string? RedisServerPath { get; init; }

    /// <summary>The unprivileged user PostgreSQL runs as when the AppHost runs as root. Env <c>SMARTHUB_POSTGRES_USER</c>.</summary>
    public string PostgresOsUser { get; init; } = "postgres";

    /// <summary>OTLP endpoint injected as OTEL_EXPORTER_OTLP_ENDPOINT (Aspire's <c>ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL</c> / <c>DOTNET_DASHBOARD_OTLP_ENDPOINT_URL</c>); null: no export.</summary>
    public string? OtlpEndpoint { get; init; }
    public string OtlpProtocol { get; init; } = "grpc";

    /// <summary>Publish mode (<c>--publisher</c>): write the deployment's description instead of running; null: run.</summary>
    public Publishing.PublishOptions? Publish { get; init; }

    /// <summary>The dashboard and its OTLP receiver (off under the testing builder unless a test turns it on).</summary>
    public DashboardOptions Dashboard { get; init; } = new();

    /// <summary>Parameter values from configuration <c>Parameters:name</c> (env <c>Parameters__name</c>).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>ASPNETCORE_ENVIRONMENT of the services.</summary>
    public string EnvironmentName { get; init; } = "Development";

    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan RestartBackoffMin { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan RestartBackoffMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Prefix and echo each resource's output on the console.</summary>
    public bool EchoResourceOutput { get; init; } = true;

    internal static HostOptions From(IConfiguration config, string appHostDirectory)
    {
        var state = config["SMARTHUB_STATE_DIR"] ?? config["SmartHub:StateDirectory"];
        state = string.IsNullOrWhiteSpace(state)
            ? Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(appHostDirectory))!, ".smarthub")
            : Path.GetFullPath(state);
        return new HostOptions
        {
            StateDirectory = state,
            PostgresBinDirectory = Nullify(config["SMARTHUB_POSTGRES_BIN"]),
            RedisServerPath = Nullify(config["SMARTHUB_REDIS_SERVER"]),
            PostgresOsUser = Nullify(config["SMARTHUB_POSTGRES_USER"]) ?? "postgres",
            OtlpEndpoint = Nullify(config["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"]) ?? Nullify(config["DOTNET_DASHBOARD_OTLP_ENDPOINT_URL"]),
            OtlpProtocol = Nullify(config["SMARTHUB_OTLP_PROTOCOL"]) ?? "grpc",
            EnvironmentName = Nullify(config["DOTNET_ENVIRONMENT"]) ?? Nullify(config["ASPNETCORE_ENVIRONMENT"]) ?? "Development",
            StartupTimeout = Seconds(config, "SmartHub:StartupTimeoutSeconds", 60),
            StopTimeout = Seconds(config, "SmartHub:StopTimeoutSeconds", 10),
            HealthInterval = Seconds(config, "SmartHub:HealthIntervalSeconds", 5),
            Parameters = config.GetSection("Parameters").GetChildren()
                .Where(c => !string.IsNullOrEmpty(c.Value))
                .ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal),
            Dashboard = DashboardOptions.From(config),
            Publish = Publishing.PublishOptions.From(config),
            EchoResourceOutput = !string.Equals(config["SmartHub:EchoResourceOutput"], "false", StringComparison.OrdinalIgnoreCase),
        };
    }

    internal static string? Nullify(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static TimeSpan Seconds(IConfiguration config, string key, double fallback)
    {
        var raw = config[key];
        if (raw is null)
        {
            return TimeSpan.FromSeconds(fallback);
        }

        return double.TryParse(raw, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new DistributedApplicationException($"Configuration '{key}' must be a positive number of seconds, not '{raw}'.");
    }
}
