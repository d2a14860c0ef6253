using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>Unhealthy until the database's migrations have been applied once.</summary>
internal sealed class MigrationsHealthCheck(MigrationState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (state.IsApplied)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"schema version {state.SchemaVersion}"));
        }

        var description = state.LastError is { } error
            ? $"migrations pending after {state.FailedAttempts} attempt(s): {error}"
            : "migrations pending";
        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, description));
    }
}
