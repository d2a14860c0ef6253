namespace SmartHub.CoreService.Security;

public static class SecurityExtensions
{
    /// <summary>CSP violation reports: their store in coredb, the retention job and the validated options (section "Security").</summary>
    public static IHostApplicationBuilder AddSecurityReporting(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<CspViolationStore>();
        builder.Services.AddHostedService<CspViolationRetention>();
        return builder;
    }
}
