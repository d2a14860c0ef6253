namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>Progress of one database's migrator, read by its health check.</summary>
public sealed class MigrationState(string connectionName)
{
    private volatile Snapshot _current = new(false, null, null, 0);

    public string ConnectionName { get; } = connectionName;

    public bool IsApplied => _current.Applied;

    public int? SchemaVersion => _current.SchemaVersion;

    public string? LastError => _current.LastError;

    public int FailedAttempts => _current.FailedAttempts;

    internal void MarkApplied(int? schemaVersion) => _current = new(true, schemaVersion, null, _current.FailedAttempts);

    internal void MarkFailed(string error) => _current = _current with { LastError = error, FailedAttempts = _current.FailedAttempts + 1 };

    private sealed record Snapshot(bool Applied, int? SchemaVersion, string? LastError, int FailedAttempts);
}
