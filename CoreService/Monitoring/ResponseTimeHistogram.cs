namespace SmartHub.CoreService.Monitoring;

/// <summary>
/// The log-scale histogram of the response-time rollups: bucket <c>i</c> counts durations up to
/// <see cref="MinMs"/> × <see cref="Growth"/>^i ms (the last bucket also everything above, 10 minutes and more).
/// A percentile read from it is the geometric middle of its bucket, clamped to the exact maximum: within
/// √1.1 − 1 ≈ 4.9% of the exact value (durations under 0.1 ms read as 0.1 ms).
/// </summary>
public static class ResponseTimeHistogram
{
    public const double MinMs = 0.1;
    public const double Growth = 1.1;

    /// <summary>Buckets per histogram: the last bound is 0.1 ms × 1.1^164 ≈ 12 minutes.</summary>
    public const int Buckets = 165;

    /// <summary>The largest relative error of a percentile read from the histogram.</summary>
    public static readonly double MaxRelativeError = Math.Sqrt(Growth) - 1;

    private static readonly double s_logGrowth = Math.Log(Growth);

    public static int BucketOf(double durationMs)
    {
        if (!(durationMs > MinMs))
        {
            return 0;
        }

        var index = (int)Math.Ceiling(Math.Log(durationMs / MinMs) / s_logGrowth - 1e-9);
        return Math.Clamp(index, 0, Buckets - 1);
    }

    public static double UpperBound(int bucket) => MinMs * Math.Pow(Growth, bucket);

    /// <summary>The <paramref name="quantile"/> (0-1) of the counts, or null when they are all zero.</summary>
    public static double? Percentile(ReadOnlySpan<long> counts, double quantile, double maxMs)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return null;
        }

        // The nearest-rank definition: the smallest value with at least quantile × total samples at or below it.
        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                var estimate = i == 0 ? MinMs : Math.Sqrt(UpperBound(i - 1) * UpperBound(i));
                return Math.Min(estimate, maxMs);
            }
        }

        return maxMs;
    }
}
