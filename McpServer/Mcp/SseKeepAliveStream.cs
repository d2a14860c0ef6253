namespace SmartHub.McpServer.Mcp;

/// <summary>
/// An SSE response body that writes a comment line (<c>: keep-alive</c>) whenever it has been silent for the interval,
/// so that proxies which close idle connections (YARP at the gateway: 100 s) keep long tool calls and the GET stream
/// open. SSE clients ignore comment lines. The comment is written only between lines (after a newline) and never
/// during a write of the transport, so it cannot split an event; a comment line without the empty line that ends an
/// event dispatches nothing.
/// </summary>
internal sealed class SseKeepAliveStream : Stream
{
    private static readonly ReadOnlyMemory<byte> s_comment = ": keep-alive\n"u8.ToArray();

    private readonly Stream _inner;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ITimer? _timer;
    private long _lastWrite;
    private bool _atLineStart = true;
    private bool _stopped;

    public SseKeepAliveStream(Stream inner, TimeSpan interval, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _inner = inner;
        _timeProvider = timeProvider;
        _interval = interval;
        _lastWrite = timeProvider.GetTimestamp();
        if (interval > TimeSpan.Zero)
        {
            _timer = timeProvider.CreateTimer(static state => ((SseKeepAliveStream)state!).Tick(), this, interval, interval);
        }
    }

    /// <summary>Keep-alive comments written so far (for tests and logs).</summary>
    public int KeepAlivesSent { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken);
            if (!buffer.IsEmpty)
            {
                _atLineStart = buffer.Span[^1] == (byte)'\n';
            }

            _lastWrite = _timeProvider.GetTimestamp();
        }
        finally
        {
            _gate.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await _inner.FlushAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Stops the keep-alives; the response body itself stays open (it belongs to the HTTP response).</summary>
    public override async ValueTask DisposeAsync()
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }

        await _gate.WaitAsync();
        try
        {
            _stopped = true;
        }
        finally
        {
            _gate.Release();
        }

        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer?.Dispose();
            _stopped = true;
        }

        base.Dispose(disposing);
    }

    private void Tick() => _ = SendKeepAliveAsync();

    private async Task SendKeepAliveAsync()
    {
        // A write in progress is activity enough; the next tick looks again.
        if (!await _gate.WaitAsync(0))
        {
            return;
        }

        try
        {
            if (_stopped || !_atLineStart || _timeProvider.GetElapsedTime(_lastWrite) < _interval * 0.9)
            {
                return;
            }

            await _inner.WriteAsync(s_comment);
            await _inner.FlushAsync();
            _lastWrite = _timeProvider.GetTimestamp();
            KeepAlivesSent++;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The client went away: the transport finds out on its next write; no more keep-alives.
            _stopped = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
