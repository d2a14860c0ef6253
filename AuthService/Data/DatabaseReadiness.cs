using SmartHub.ServiceDefaults.Postgres.Migrations;

namespace SmartHub.AuthService.Data;

/// <summary>Lets background work wait until authdb's migrations are applied (the migrator runs in the background).</summary>
public sealed class DatabaseReadiness(
    [FromKeyedServices(DatabaseReadiness.ConnectionName)] MigrationState migrations,
    TimeProvider timeProvider)
{
    public const string ConnectionName = "authdb";

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(200);

    public bool IsReady => migrations.IsApplied;

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        while (!migrations.IsApplied)
        {
            await Task.Delay(s_poll, timeProvider, cancellationToken);
        }
    }
}
