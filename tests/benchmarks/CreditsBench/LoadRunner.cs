using System.Collections.Concurrent;
using System.Diagnostics;

namespace SmartHub.Benchmarks.CreditsBench;

/// <summary>The outcome of one measurement: N workers, each doing reserve→capture pairs back to back for a fixed time.</summary>
internal sealed record Measurement(
    Mode Mode, int Workers, long Pairs, long Failures, double Seconds, double P50Ms, double P99Ms, CpuSampler.Usage Cpu, IReadOnlyList<string> Errors)
{
    public double PairsPerSecond => Pairs / Seconds;

    /// <summary>CPU microseconds one pair cost in <paramref name="group"/>.</summary>
    public double MicrosecondsPerPair(string group) =>
        Pairs == 0 ? 0 : Cpu.PercentOfCore.GetValueOrDefault(group) / 100 * 1_000_000 / PairsPerSecond;
}

internal sealed class LoadRunner(IReadOnlyList<Guid> users, Guid hotUser, CpuSampler cpu)
{
    private long _next = -1;

    /// <summary>All pairs that completed, per client, for the check against the database afterwards.</summary>
    public ConcurrentDictionary<string, long> CompletedByPrefix { get; } = new();

    public async Task<Measurement> RunAsync(Mode mode, IPairClient client, int workers, TimeSpan duration, CancellationToken cancellationToken)
    {
        var latencies = new List<long>[workers];
        var errors = new ConcurrentQueue<string>();
        long failures = 0;
        var start = cpu.Take();
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = new List<long>(4096);
            while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
            {
                // Distinct users: strict round robin over the 1,000, so two workers rarely meet on one account.
                var user = mode.IsHot() ? hotUser : users[(int)(Interlocked.Increment(ref _next) % users.Count)];
                var requestId = client.RequestIdPrefix + Guid.CreateVersion7().ToString("N");
                var t0 = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    error = await client.RunPairAsync(user, requestId, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    error = $"{ex.GetType().Name}: {ex.Message}";
                }

                if (error is null)
                {
                    mine.Add(Stopwatch.GetTimestamp() - t0);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                    if (errors.Count < 20)
                    {
                        errors.Enqueue(error);
                    }
                }
            }

            latencies[w] = mine;
        }, cancellationToken)).ToArray();
        await Task.WhenAll(tasks);
        var seconds = clock.Elapsed.TotalSeconds;
        var usage = CpuSampler.Between(start, cpu.Take());

        var all = latencies.SelectMany(l => l).Order().ToArray();
        CompletedByPrefix.AddOrUpdate(client.RequestIdPrefix, all.Length, (_, n) => n + all.Length);
        return new Measurement(mode, workers, all.Length, failures, seconds, Percentile(all, 0.50), Percentile(all, 0.99), usage, [.. errors]);
    }

    private static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(p * sorted.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
}
