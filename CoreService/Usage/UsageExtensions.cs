using Microsoft.Extensions.Options;
using SmartHub.CoreService.Pricing;

namespace SmartHub.CoreService.Usage;

public static class UsageExtensions
{
    /// <summary>Usage storage (the stream consumer), analytics queries and the price list, with validated options.</summary>
    public static IHostApplicationBuilder AddUsage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<UsageOptions>().BindConfiguration(UsageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>();
        services.AddSingleton<UsageStore>();
        services.AddSingleton<UsageQueries>();
        services.AddHostedService<UsageIngestor>();
        return builder;
    }
}
