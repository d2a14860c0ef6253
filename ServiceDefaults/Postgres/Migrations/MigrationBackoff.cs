namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>Delay before the migrator's next attempt: 1, 2, 4, 8, 16, 30, 30... seconds, ±20 % jitter.</summary>
public static class MigrationBackoff
{
    public static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    public static TimeSpan Delay(int failedAttempts, double jitter01)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);

        var exponent = Math.Min(failedAttempts - 1, 16);
        var baseDelay = Math.Min(Initial.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        var factor = 0.8 + (0.4 * Math.Clamp(jitter01, 0, 1));
        return TimeSpan.FromMilliseconds(Math.Min(baseDelay * factor, Max.TotalMilliseconds));
    }
}
