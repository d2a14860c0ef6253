using System.Collections.Concurrent;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>
/// One metric's time series by label text (<see cref="LabelText"/>), at most <see cref="Capacity"/> of them: a
/// measurement with a new label combination beyond that is dropped and counted in <see cref="Dropped"/> (exported as
/// <c>smarthub_metrics_dropped_measurements_total</c>), so a tag with unbounded values cannot exhaust memory. Lookups
/// go by the rendered text as a span (no allocation); only a new series allocates its key.
/// </summary>
internal sealed class SeriesTable<TSeries>
    where TSeries : class
{
    private readonly ConcurrentDictionary<string, TSeries> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TSeries>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _capacity;
    private int _count;
    private long _dropped;

    public SeriesTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Capacity => _capacity;

    public int Count => Volatile.Read(ref _count);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The series of <paramref name="labels"/>, created when new; null when the table is full (counted).</summary>
    public TSeries? GetOrAdd(ReadOnlySpan<char> labels, Func<TSeries> create, out bool firstDrop)
    {
        firstDrop = false;
        if (_lookup.TryGetValue(labels, out var existing))
        {
            return existing;
        }

        if (Interlocked.Increment(ref _count) > _capacity)
        {
            Interlocked.Decrement(ref _count);
            firstDrop = Interlocked.Increment(ref _dropped) == 1;
            return null;
        }

        var created = create();
        var stored = _series.GetOrAdd(labels.ToString(), created);
        if (!ReferenceEquals(stored, created))
        {
            Interlocked.Decrement(ref _count); // another thread added it first
        }

        return stored;
    }

    /// <summary>The series in label order (a stable exposition from scrape to scrape).</summary>
    public List<KeyValuePair<string, TSeries>> Snapshot()
    {
        var list = _series.ToList();
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    public void Remove(string labels)
    {
        if (_series.TryRemove(labels, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
