using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting.Dashboard;

/// <summary>
/// The dashboard and its OTLP receiver, as Aspire's dashboard: the web UI on <see cref="Port"/> (18888), OTLP/gRPC on
/// <see cref="OtlpGrpcPort"/> (18889) and OTLP/HTTP on <see cref="OtlpHttpPort"/> (18890), all on 127.0.0.1 only.
/// </summary>
public sealed record DashboardOptions
{
    /// <summary>Env <c>SMARTHUB_DASHBOARD_ENABLED</c> (true by default; the testing builder sets false).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Env <c>SMARTHUB_DASHBOARD_PORT</c>; 0 picks a free port.</summary>
    public int Port { get; init; } = 18888;

    /// <summary>Env <c>SMARTHUB_DASHBOARD_OTLP_GRPC_PORT</c>; 0 picks a free port.</summary>
    public int OtlpGrpcPort { get; init; } = 18889;

    /// <summary>Env <c>SMARTHUB_DASHBOARD_OTLP_HTTP_PORT</c>; 0 picks a free port.</summary>
    public int OtlpHttpPort { get; init; } = 18890;

    /// <summary>The browser token (env <c>SMARTHUB_DASHBOARD_TOKEN</c>); by default a new random one at every start.</summary>
    public string? BrowserToken { get; init; }

    /// <summary>How the services export: <c>grpc</c> (default) or <c>http/protobuf</c> (env <c>SMARTHUB_OTLP_PROTOCOL</c>).</summary>
    public string OtlpProtocol { get; init; } = "grpc";

    /// <summary>Bounds of the in-memory telemetry (section <c>Dashboard:Telemetry</c>, e.g. <c>Dashboard__Telemetry__MaxSpans</c>).</summary>
    public TelemetryLimits Telemetry { get; init; } = new();

    internal static DashboardOptions From(IConfiguration config)
    {
        var telemetry = new TelemetryLimits();
        config.GetSection("Dashboard:Telemetry").Bind(telemetry);
        var problems = new List<ValidationResult>();
        if (!Validator.TryValidateObject(telemetry, new ValidationContext(telemetry), problems, validateAllProperties: true))
        {
            throw new DistributedApplicationException("Dashboard:Telemetry is invalid: " + string.Join(" ", problems.Select(p => p.ErrorMessage)));
        }

        var protocol = HostOptions.Nullify(config["SMARTHUB_OTLP_PROTOCOL"]) ?? "grpc";
        if (protocol is not ("grpc" or "http/protobuf"))
        {
            throw new DistributedApplicationException($"SMARTHUB_OTLP_PROTOCOL must be 'grpc' or 'http/protobuf', not '{protocol}'.");
        }

        var token = HostOptions.Nullify(config["SMARTHUB_DASHBOARD_TOKEN"]);
        if (token is { Length: < 16 })
        {
            throw new DistributedApplicationException("SMARTHUB_DASHBOARD_TOKEN must be at least 16 characters (or unset: a random token is made at every start).");
        }

        return new DashboardOptions
        {
            Enabled = Flag(config, "SMARTHUB_DASHBOARD_ENABLED", true),
            Port = ReadPort(config, "SMARTHUB_DASHBOARD_PORT", 18888),
            OtlpGrpcPort = ReadPort(config, "SMARTHUB_DASHBOARD_OTLP_GRPC_PORT", 18889),
            OtlpHttpPort = ReadPort(config, "SMARTHUB_DASHBOARD_OTLP_HTTP_PORT", 18890),
            BrowserToken = token,
            OtlpProtocol = protocol,
            Telemetry = telemetry,
        };
    }

    private static bool Flag(IConfiguration config, string key, bool fallback) => config[key] switch
    {
        null or "" => fallback,
        var raw when bool.TryParse(raw, out var value) => value,
        "1" => true,
        "0" => false,
        var raw => throw new DistributedApplicationException($"{key} must be true or false, not '{raw}'."),
    };

    private static int ReadPort(IConfiguration config, string key, int fallback)
    {
        var raw = config[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        return int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new DistributedApplicationException($"{key} must be a port number (0 picks a free one), not '{raw}'.");
    }
}
