using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// The service's own <see cref="ActivitySource"/> and <see cref="Meter"/>, both named after the
/// service ("SmartHub.Core" for SmartHub.CoreService). Registered as a singleton by
/// <c>AddServiceDefaults()</c>; the telemetry setup subscribes to every "SmartHub.*" name.
/// </summary>
public sealed class ServiceTelemetry : IDisposable
{
    public ServiceTelemetry(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        ActivitySource = new ActivitySource(name);
        Meter = new Meter(name);
    }

    public string Name { get; }

    public ActivitySource ActivitySource { get; }

    public Meter Meter { get; }

    /// <summary>
    /// "SmartHub.CoreService" → "SmartHub.Core", "SmartHub.McpServer" → "SmartHub.Mcp",
    /// "SmartHub.Gateway" → "SmartHub.Gateway"; names outside SmartHub get the prefix.
    /// </summary>
    public static string NameFor(string applicationName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(applicationName);

        var name = applicationName.Trim();
        foreach (var suffix in (ReadOnlySpan<string>)["Service", "Server"])
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal) && name[^(suffix.Length + 1)] != '.')
            {
                name = name[..^suffix.Length];
                break;
            }
        }

        return name.StartsWith(TelemetryNames.Prefix + ".", StringComparison.Ordinal)
            ? name
            : $"{TelemetryNames.Prefix}.{name}";
    }

    public void Dispose()
    {
        ActivitySource.Dispose();
        Meter.Dispose();
    }
}
