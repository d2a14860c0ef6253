namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>The activity sources and meters every service subscribes to.</summary>
public static class TelemetryNames
{
    /// <summary>Prefix of SmartHub's own sources and meters ("SmartHub.Core", "SmartHub.Gateway", ...).</summary>
    public const string Prefix = "SmartHub";

    public static IReadOnlyList<string> ActivitySources { get; } =
    [
        "Microsoft.AspNetCore",
        "System.Net.Http",
        "Yarp.ReverseProxy",
        "Npgsql",
        Prefix + ".*",
    ];

    public static IReadOnlyList<string> Meters { get; } =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "System.Net.Http",
        "System.Runtime",
        "Npgsql",
        Prefix + ".*",
    ];
}
