namespace SmartHub.ServiceDefaults.Logging;

/// <summary>
/// Lets one caller through at most once per interval, without locks: for warnings about a lasting condition (Redis
/// down, samples dropped) that would otherwise be logged on every request.
/// </summary>
public sealed class LogThrottle(TimeSpan interval, TimeProvider timeProvider)
{
    private long _last = long.MinValue;

    /// <summary>True for the first caller, then for the first caller once <c>interval</c> has passed (or with <paramref name="force"/>).</summary>
    public bool TryEnter(bool force = false)
    {
        var now = timeProvider.GetTimestamp();
        var last = Interlocked.Read(ref _last);
        if (!force && last != long.MinValue && timeProvider.GetElapsedTime(last, now) < interval)
        {
            return false;
        }

        // Of callers racing for the same slot, one wins.
        return Interlocked.CompareExchange(ref _last, now, last) == last;
    }
}
