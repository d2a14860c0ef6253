using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Streams;

namespace SmartHub.CoreService.Monitoring;

/// <summary>
/// Section <c>Monitoring</c>: the response-time pipeline (the gateway's <c>Gateway:ResponseTimeSamples:StreamKey</c>,
/// <see cref="StreamConsumerOptions"/>; an entry is a batch of up to 256 samples), SLA tiers, retention and baselines.
/// </summary>
public sealed class MonitoringOptions() : StreamConsumerOptions("telemetry:response-times", "core-response-times", readCount: 32)
{
    public const string SectionName = "Monitoring";

    /// <summary>SLA tiers (P95 thresholds) and which endpoints belong to which.</summary>
    [Required]
    public SlaOptions Sla { get; set; } = new();

    /// <summary>Samples (and stored batch ids) older than this are deleted, whole days at a time.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan SampleRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Per-minute rollups are kept this long (trends and violations finer than an hour); hourly ones as long as samples.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "90.00:00:00")]
    public TimeSpan MinuteRollupRetention { get; set; } = TimeSpan.FromDays(2);

    /// <summary>Daily rollups and baselines are kept this long.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan DayRollupRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How often the retention and baseline job runs (it computes the baselines of days not computed yet).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>An endpoint is degraded when its current P95 exceeds its baseline P95 by this factor.</summary>
    [Range(1.0, 100.0)]
    public double DegradationFactor { get; set; } = 1.5;

    /// <summary>Endpoints (method and path template) kept apart per service; beyond it new ones are counted under "(other)".</summary>
    [Range(10, 100_000)]
    public int MaxEndpoints { get; set; } = 2_000;
}

public sealed class SlaOptions
{
    /// <summary>Tier name → P95 threshold in milliseconds.</summary>
    public Dictionary<string, int> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Path patterns (<c>*</c> one segment, <c>**</c> any rest) → tier; the first that matches wins.</summary>
    public List<SlaRoute> Routes { get; set; } = [];

    [Required(AllowEmptyStrings = false)]
    public string DefaultTier { get; set; } = "medium";

    /// <summary>The guide's tiers and routes: auth and chat critical; users and credits high; analytics and monitoring medium; background and reports low.</summary>
    public static SlaOptions Defaults() => new()
    {
        Tiers = new(StringComparer.OrdinalIgnoreCase) { ["critical"] = 500, ["high"] = 1000, ["medium"] = 2000, ["low"] = 5000 },
        Routes =
        [
            new() { Pattern = "/auth/admin/users/**", Tier = "high" },
            new() { Pattern = "/auth/**", Tier = "critical" },
            new() { Pattern = "/v1/chat/**", Tier = "critical" },
            new() { Pattern = "/v1/**", Tier = "critical" },
            new() { Pattern = "/api/v1/admin/users/**", Tier = "high" },
            new() { Pattern = "/api/v1/credits/**", Tier = "high" },
            new() { Pattern = "/api/v1/admin/credits/**", Tier = "high" },
            new() { Pattern = "/api/v1/usage/**", Tier = "medium" },
            new() { Pattern = "/api/v1/admin/usage/**", Tier = "medium" },
            new() { Pattern = "/api/v1/monitoring/**", Tier = "medium" },
            new() { Pattern = "/api/v1/reports/**", Tier = "low" },
            new() { Pattern = "/mcp/**", Tier = "low" },
        ],
        DefaultTier = "medium",
    };
}

public sealed class SlaRoute
{
    [Required(AllowEmptyStrings = false)]
    public string Pattern { get; set; } = "";

    [Required(AllowEmptyStrings = false)]
    public string Tier { get; set; } = "";
}

/// <summary>Fills in the guide's tiers (those configuration does not set) and routes (when it lists none), and checks that every tier named exists.</summary>
public sealed class MonitoringOptionsSetup : IPostConfigureOptions<MonitoringOptions>, IValidateOptions<MonitoringOptions>
{
    public void PostConfigure(string? name, MonitoringOptions options)
    {
        var defaults = SlaOptions.Defaults();
        var tiers = new Dictionary<string, int>(options.Sla.Tiers, StringComparer.OrdinalIgnoreCase);
        foreach (var (tier, threshold) in defaults.Tiers)
        {
            tiers.TryAdd(tier, threshold);
        }

        options.Sla.Tiers = tiers;

        if (options.Sla.Routes.Count == 0)
        {
            options.Sla.Routes = defaults.Routes;
        }
    }

    public ValidateOptionsResult Validate(string? name, MonitoringOptions options)
    {
        var errors = new List<string>();
        foreach (var (tier, threshold) in options.Sla.Tiers)
        {
            if (threshold is < 1 or > 3_600_000)
            {
                errors.Add($"Monitoring:Sla:Tiers:{tier} must be a threshold from 1 to 3600000 ms (was {threshold}).");
            }
        }

        if (!options.Sla.Tiers.ContainsKey(options.Sla.DefaultTier))
        {
            errors.Add($"Monitoring:Sla:DefaultTier '{options.Sla.DefaultTier}' is not one of Monitoring:Sla:Tiers ({string.Join(", ", options.Sla.Tiers.Keys)}).");
        }

        for (var i = 0; i < options.Sla.Routes.Count; i++)
        {
            var route = options.Sla.Routes[i];
            if (string.IsNullOrWhiteSpace(route.Pattern) || !route.Pattern.StartsWith('/'))
            {
                errors.Add($"Monitoring:Sla:Routes:{i}:Pattern must start with '/' (was '{route.Pattern}').");
            }

            if (!options.Sla.Tiers.ContainsKey(route.Tier))
            {
                errors.Add($"Monitoring:Sla:Routes:{i}:Tier '{route.Tier}' is not one of Monitoring:Sla:Tiers.");
            }
        }

        if (options.MinuteRollupRetention > options.SampleRetention)
        {
            errors.Add("Monitoring:MinuteRollupRetention must not exceed Monitoring:SampleRetention.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
