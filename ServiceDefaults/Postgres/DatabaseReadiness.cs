using SmartHub.ServiceDefaults.Postgres.Migrations;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>
/// Lets background work wait until a database's migrations are applied (the migrator runs in the background, so the
/// service starts answering /alive at once). Registered by <c>AddPostgresMigrations</c>: keyed by connection name, and
/// unkeyed for the first database a service migrates.
/// </summary>
public sealed class DatabaseReadiness(MigrationState migrations, TimeProvider timeProvider)
{
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
