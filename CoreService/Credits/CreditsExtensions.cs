using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.CoreService.Credits;

public static class CreditsExtensions
{
    /// <summary>The ledger, account opening, caps, the expiry job and their validated options.</summary>
    public static IHostApplicationBuilder AddCredits(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<CreditsOptions>().BindConfiguration(CreditsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<CreditAccounts>();
        services.AddSingleton<AuthDirectory>();
        services.AddSingleton<CreditCaps>();
        services.AddHttpClient(AuthDirectory.HttpClientName);
        services.AddHostedService<ReservationExpiry>();
        services.AddDependencyUnavailableHandling();
        return builder;
    }
}
