namespace SmartHub.Hosting.Orchestration;

/// <summary>One line of a resource's output, numbered from 1 in the order it was written.</summary>
public readonly record struct LogLine(long Sequence, DateTimeOffset Time, string Text);

/// <summary>
/// The recent output of one resource (bounded: the oldest lines leave first), echoed to the console when enabled.
/// Readers follow it live by sequence number (<see cref="Since"/> and <see cref="WaitForLinesAsync"/>): the dashboard's
/// console view.
/// </summary>
public sealed class ResourceLog(string resource, int capacity = 2000)
{
    private readonly Queue<LogLine> _lines = new();
    private readonly Lock _gate = new();
    private long _sequence;
    private TaskCompletionSource? _waiting;

    public string Resource { get; } = resource;

    /// <summary>The sequence number of the last line written (0: none yet).</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _sequence;
            }
        }
    }

    public void Append(string line)
    {
        TaskCompletionSource? waiting;
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(new LogLine(++_sequence, DateTimeOffset.UtcNow, line));
            waiting = _waiting;
            _waiting = null;
        }

        waiting?.TrySetResult();
        HostConsole.ResourceLine(Resource, line);
    }

    public IReadOnlyList<string> Tail(int count)
    {
        lock (_gate)
        {
            return [.. _lines.Skip(Math.Max(0, _lines.Count - count)).Select(l => l.Text)];
        }
    }

    /// <summary>The lines after <paramref name="sequence"/> still held, oldest first, at most <paramref name="max"/> (the newest of them).</summary>
    public IReadOnlyList<LogLine> Since(long sequence, int max = int.MaxValue)
    {
        lock (_gate)
        {
            var newer = _lines.Count - (int)Math.Clamp(_sequence - sequence, 0, _lines.Count);
            return [.. _lines.Skip(Math.Max(newer, _lines.Count - max))];
        }
    }

    /// <summary>Completes when a line after <paramref name="sequence"/> exists (at once if one does already).</summary>
    public Task WaitForLinesAsync(long sequence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_sequence > sequence)
            {
                return Task.CompletedTask;
            }

            _waiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiting.Task.WaitAsync(cancellationToken);
        }
    }
}
