using System.Collections.Concurrent;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// A small in-process cache with a fixed time to live, a bounded size and single-flight loading: concurrent misses for
/// one key share one load. Failed loads are not cached (every waiter sees the exception; the next call loads again).
/// The hit path (<see cref="TryGetFresh"/>) allocates nothing.
/// </summary>
internal sealed class LocalCache<TKey, TValue>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries;
    private readonly TimeProvider _timeProvider;
    private readonly long _ttlTicks;
    private readonly int _maxEntries;
    private int _count;

    public LocalCache(TimeSpan timeToLive, int maxEntries, TimeProvider timeProvider, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _timeProvider = timeProvider;
        _ttlTicks = (long)(timeToLive.TotalSeconds * timeProvider.TimestampFrequency);
        _maxEntries = maxEntries;
        _entries = new ConcurrentDictionary<TKey, Entry>(comparer);
    }

    /// <summary>Approximate number of entries (maintained without locking the dictionary).</summary>
    public int Count => Volatile.Read(ref _count);

    public bool TryGetFresh(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && IsFresh(entry, _timeProvider.GetTimestamp()))
        {
            value = entry.Source.Task.Result;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>The fresh value, or the value of the load in flight, or a new load started now.</summary>
    public Task<TValue> GetOrLoadAsync<TState>(TKey key, Func<TKey, TState, Task<TValue>> load, TState state)
    {
        ArgumentNullException.ThrowIfNull(load);
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (!existing.Source.Task.IsCompleted || IsFresh(existing, _timeProvider.GetTimestamp()))
                {
                    return existing.Source.Task;
                }

                var replacement = new Entry();
                if (_entries.TryUpdate(key, replacement, existing))
                {
                    return Start(key, replacement, load, state);
                }

                continue;
            }

            var entry = new Entry();
            if (_entries.TryAdd(key, entry))
            {
                if (Interlocked.Increment(ref _count) > _maxEntries)
                {
                    Trim();
                }

                return Start(key, entry, load, state);
            }
        }
    }

    /// <summary>Stores a value loaded elsewhere (replacing any entry, fresh from now).</summary>
    public void Set(TKey key, TValue value)
    {
        var entry = new Entry { LoadedAt = _timeProvider.GetTimestamp() };
        entry.Source.TrySetResult(value);
        var added = false;
        _entries.AddOrUpdate(key, _ => { added = true; return entry; }, (_, _) => entry);
        if (added && Interlocked.Increment(ref _count) > _maxEntries)
        {
            Trim();
        }
    }

    public void Remove(TKey key)
    {
        if (_entries.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Removes the entries whose loaded value matches (loads in flight are left alone).</summary>
    public void RemoveWhere<TState>(Func<TValue, TState, bool> predicate, TState state)
    {
        foreach (var pair in _entries)
        {
            if (pair.Value.Source.Task.IsCompletedSuccessfully
                && predicate(pair.Value.Source.Task.Result, state)
                && _entries.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    public void Clear()
    {
        foreach (var pair in _entries)
        {
            if (_entries.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    private bool IsFresh(Entry entry, long now) =>
        entry.Source.Task.IsCompletedSuccessfully && now - Volatile.Read(ref entry.LoadedAt) < _ttlTicks;

    private Task<TValue> Start<TState>(TKey key, Entry entry, Func<TKey, TState, Task<TValue>> load, TState state)
    {
        Task<TValue> loading;
        try
        {
            loading = load(key, state);
        }
#pragma warning disable CA1031 // the failure is handed to every waiter
        catch (Exception ex)
#pragma warning restore CA1031
        {
            loading = Task.FromException<TValue>(ex);
        }

        _ = CompleteAsync(key, entry, loading);
        return entry.Source.Task;
    }

    private async Task CompleteAsync(TKey key, Entry entry, Task<TValue> loading)
    {
        try
        {
            var value = await loading.ConfigureAwait(false);
            Volatile.Write(ref entry.LoadedAt, _timeProvider.GetTimestamp());
            entry.Source.TrySetResult(value);
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (_entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry)))
            {
                Interlocked.Decrement(ref _count);
            }

            entry.Source.TrySetException(ex);
        }
    }

    /// <summary>Over the bound: drop stale entries; if that is not enough (a flood of distinct keys), drop everything.</summary>
    private void Trim()
    {
        var now = _timeProvider.GetTimestamp();
        foreach (var pair in _entries)
        {
            if (pair.Value.Source.Task.IsCompleted && !IsFresh(pair.Value, now) && _entries.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        if (Volatile.Read(ref _count) > _maxEntries)
        {
            Clear();
        }
    }

    private sealed class Entry
    {
        public readonly TaskCompletionSource<TValue> Source = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long LoadedAt;
    }
}
