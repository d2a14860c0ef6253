using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Signing;

/// <summary>Ensures an active signing key at start (once migrations are applied) and every hour; retries failures with backoff.</summary>
public sealed class SigningKeyMaintenance(
    SigningKeyStore store,
    DatabaseReadiness readiness,
    TimeProvider timeProvider,
    ILogger<SigningKeyMaintenance> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            var failures = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                TimeSpan delay;
                try
                {
                    await store.EnsureAsync(stoppingToken);
                    if (failures > 0)
                    {
                        logger.LogInformation("Signing keys ready (active {Kid})", store.ActiveKid);
                    }

                    failures = 0;
                    delay = Interval;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    failures++;
                    delay = TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, failures - 1)));
                    logger.LogWarning("Signing-key maintenance failed (attempt {Attempt}): {Reason}; retrying in {Seconds} s",
                        failures, ex.Message, delay.TotalSeconds);
                }

                await Task.Delay(delay, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>Readiness: unhealthy until a signing key is active (tokens cannot be issued before).</summary>
public sealed class SigningKeyHealthCheck(SigningKeyStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.IsReady
            ? HealthCheckResult.Healthy($"Signing key {store.ActiveKid} active")
            : HealthCheckResult.Unhealthy("No signing key active yet"));
}

/// <summary>IJwksProvider inside AuthService: its own key store, no HTTP.</summary>
public sealed class LocalJwksProvider(SigningKeyStore store) : ServiceDefaults.Authentication.IJwksProvider
{
    public ValueTask<Microsoft.IdentityModel.Tokens.SecurityKey?> GetSigningKeyAsync(string kid, CancellationToken cancellationToken) =>
        store.FindPublicKeyAsync(kid, cancellationToken);
}
