using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>
/// Opens a pooled connection and runs <c>SELECT 1</c> within a short timeout. On failure the
/// pool is cleared, so connections broken by a server restart are not handed out again and the
/// check (and the service) recover as soon as the server is back.
/// </summary>
internal sealed class NpgsqlHealthCheck(NpgsqlDataSource dataSource, PostgresTarget target, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);

        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(timeoutSource.Token);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(timeoutSource.Token);
            return HealthCheckResult.Healthy(target.ToString());
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            dataSource.Clear();
            var reason = timeoutSource.IsCancellationRequested
                ? $"no answer within {timeout.TotalSeconds:0.#} s"
                : PostgresFailure.Describe(exception);
            return new HealthCheckResult(context.Registration.FailureStatus, $"{target}: {reason}");
        }
    }
}
