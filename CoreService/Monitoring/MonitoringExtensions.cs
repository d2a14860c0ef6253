using Microsoft.Extensions.Options;

namespace SmartHub.CoreService.Monitoring;

public static class MonitoringExtensions
{
    /// <summary>
    /// The response-time pipeline (the gateway's samples from Redis into coredb), SLA tiers, the monitoring queries,
    /// and the retention and baseline job, with validated options (section <c>Monitoring</c>).
    /// </summary>
    public static IHostApplicationBuilder AddMonitoring(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<MonitoringOptions>().BindConfiguration(MonitoringOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MonitoringOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<MonitoringOptions>>(s => s.GetRequiredService<MonitoringOptionsSetup>());
        services.AddSingleton<IValidateOptions<MonitoringOptions>>(s => s.GetRequiredService<MonitoringOptionsSetup>());
        services.AddSingleton<SlaClassifier>();
        services.AddSingleton<ResponseTimeStore>();
        services.AddSingleton<MonitoringQueries>();
        services.AddHostedService<ResponseTimeIngestor>();
        services.AddHostedService<MonitoringMaintenance>();
        return builder;
    }
}
