namespace SmartHub.ServiceDefaults.Health;

/// <summary>The probe endpoints kept out of traces.</summary>
public static class HealthProbePaths
{
    public const string Readiness = "/health";
    public const string Liveness = "/alive";
    public const string Metrics = "/metrics";

    /// <summary>True for "/health", "/alive", "/metrics" (any case, with or without a trailing slash).</summary>
    public static bool IsProbe(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        var trimmed = path.Length > 1 && path[^1] == '/' ? path.AsSpan(0, path.Length - 1) : path.AsSpan();
        return trimmed.Equals(Readiness, StringComparison.OrdinalIgnoreCase)
            || trimmed.Equals(Liveness, StringComparison.OrdinalIgnoreCase)
            || trimmed.Equals(Metrics, StringComparison.OrdinalIgnoreCase);
    }
}
