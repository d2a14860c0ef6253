using SmartHub.AuthService.Admin;
using SmartHub.AuthService.ApiKeys;
using SmartHub.AuthService.Apis;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Data;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Passwords;
using SmartHub.AuthService.Revocation;
using SmartHub.AuthService.Signing;
using SmartHub.AuthService.Tokens;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Health;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService;

public static class AuthServiceExtensions
{
    /// <summary>
    /// AuthService's identity services: options, password hashing, signing keys (and their hourly maintenance), tokens,
    /// users, API keys, audit, revocations in Redis, the first admin; then SmartHub's shared authentication with the
    /// local key store and database in place of the HTTP JWKS and verify calls the other services use.
    /// </summary>
    public static IHostApplicationBuilder AddIdentityServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<PasswordHashing>();
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<RefreshTokenStore>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<UserAdministration>();
        services.AddSingleton<RevocationPublisher>();
        services.AddHostedService(provider => provider.GetRequiredService<RevocationPublisher>());
        services.AddHostedService<SigningKeyMaintenance>();
        services.AddHostedService<AdminBootstrapper>();
        services.AddHostedService<DataRetention>();
        services.AddHostedService<RevocationReplay>();
        services.AddHealthChecks().AddCheck<SigningKeyHealthCheck>("signing-keys", tags: [HealthTags.Ready]);
        services.AddDependencyUnavailableHandling();

        // Before AddSmartHubAuthentication, which only adds the HTTP implementations when none is registered.
        services.AddSingleton<IJwksProvider, LocalJwksProvider>();
        services.AddSingleton<IApiKeyAuthority, LocalApiKeyAuthority>();
        builder.AddSmartHubAuthentication();
        services.AddAuthorization(options => options.AddPolicy(ApiKeysApi.SelfServicePolicy, policy => policy
            .RequireAuthenticatedUser()
            .RequireAssertion(context => !context.User.IsApiKey() || context.User.HasPermission(Permissions.KeysManage))));

        return builder;
    }
}
