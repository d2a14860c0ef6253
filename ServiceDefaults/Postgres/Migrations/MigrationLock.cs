using System.Text;

namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>
/// The <c>pg_advisory_lock</c> key of a database's migrations: a fixed 64-bit FNV-1a hash of
/// the database name, so every replica of a service computes the same key (string.GetHashCode
/// is randomized per process) and different databases on one server do not block each other.
/// </summary>
public static class MigrationLock
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static long KeyFor(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);

        var hash = OffsetBasis;
        foreach (var b in Encoding.UTF8.GetBytes("smarthub:migrations:" + database))
        {
            hash ^= b;
            hash *= Prime;
        }

        return unchecked((long)hash);
    }
}
