namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// Decides which resource attributes the service adds itself. OTEL_SERVICE_NAME and
/// OTEL_RESOURCE_ATTRIBUTES (what the AppHost injects) are read by the SDK's own detectors and
/// win; the application name is only the fallback so a service never reports "unknown_service".
/// </summary>
public static class TelemetryResource
{
    public static IReadOnlyDictionary<string, object> FallbackAttributes(
        string? otelServiceName,
        string? otelResourceAttributes,
        string applicationName,
        string environmentName)
    {
        var configured = ParseResourceAttributes(otelResourceAttributes);
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);

        if (string.IsNullOrWhiteSpace(otelServiceName) && !configured.ContainsKey("service.name"))
        {
            attributes["service.name"] = applicationName;
        }

        if (!configured.ContainsKey("service.instance.id"))
        {
            attributes["service.instance.id"] = $"{Environment.MachineName}-{Environment.ProcessId}";
        }

        if (!configured.ContainsKey("deployment.environment.name"))
        {
            attributes["deployment.environment.name"] = environmentName.ToLowerInvariant();
        }

        return attributes;
    }

    /// <summary>Parses "key1=value1,key2=value2" (the OTEL_RESOURCE_ATTRIBUTES format).</summary>
    public static IReadOnlyDictionary<string, string> ParseResourceAttributes(string? value)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(value))
        {
            return result;
        }

        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var separator = pair.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                continue;
            }

            var key = pair[..separator].Trim();
            var attributeValue = Uri.UnescapeDataString(pair[(separator + 1)..].Trim());
            if (key.Length > 0)
            {
                result[key] = attributeValue;
            }
        }

        return result;
    }
}
