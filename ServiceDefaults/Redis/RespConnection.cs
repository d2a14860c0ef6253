using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// One TCP connection to Redis, multiplexed: any number of callers write commands (under a short lock, straight into
/// an in-memory pipe, in the same order as they join the FIFO of pending replies); one loop sends the pipe to the
/// socket in batches, another parses replies and completes the pending commands in order. Once broken it stays
/// broken: every pending and later command fails with <see cref="RedisConnectionException"/>, and
/// <see cref="ConnectionSupervisor"/> builds a new one.
/// </summary>
internal sealed class RespConnection : IAsyncDisposable
{
    /// <summary>Commands in flight on one connection; beyond it callers fail fast instead of queueing without bound.</summary>
    internal const int MaxPendingCommands = 100_000;

    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinimumDeadAfter = TimeSpan.FromSeconds(10);

    private readonly RedisOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly Pipe _output;
    private readonly Lock _writeLock = new();
    private readonly ConcurrentQueue<PendingCommand> _pending = new();
    private readonly Action<RedisResult>? _pushHandler;
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeSpan _deadAfter;
    private ITimer? _timer;
    private string? _closeReason;
    private int _pendingCount;
    private long _lastReadTimestamp;
    private long _lastHeartbeatTimestamp;
    private Task _readLoop = Task.CompletedTask;
    private Task _sendLoop = Task.CompletedTask;

    private RespConnection(RedisOptions options, Socket socket, Action<RedisResult>? pushHandler, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _socket = socket;
        _pushHandler = pushHandler;
        _timeProvider = timeProvider;
        _logger = logger;
        _deadAfter = options.CommandTimeout * 2 > MinimumDeadAfter ? options.CommandTimeout * 2 : MinimumDeadAfter;
        _output = new Pipe(new PipeOptions(
            pauseWriterThreshold: 0, // never blocks writers; the pending limit bounds the backlog
            resumeWriterThreshold: 0,
            minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false));
        _lastReadTimestamp = _lastHeartbeatTimestamp = timeProvider.GetTimestamp();
    }

    /// <summary>Completes with the reason once the connection is closed or broken.</summary>
    public Task<string> Closed => _closed.Task;

    public bool IsOpen => Volatile.Read(ref _closeReason) is null;

    /// <summary>Opens the socket and runs the handshake (AUTH, SELECT, CLIENT SETNAME, PING) within the connect timeout.</summary>
    /// <exception cref="RedisHandshakeException">Redis answered the handshake with an error (wrong password ...).</exception>
    public static async Task<RespConnection> ConnectAsync(
        RedisOptions options, Action<RedisResult>? pushHandler, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RespConnection? connection = null;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(options.Host, options.Port, linked.Token);
            connection = new RespConnection(options, socket, pushHandler, timeProvider, logger);
            connection.Start();
            await connection.HandshakeAsync(linked.Token);
            return connection;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await DisposeAfterFailure(connection, socket, "connect timed out");
            throw new TimeoutException(
                $"connect timed out after {options.ConnectTimeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
        }
        catch
        {
            await DisposeAfterFailure(connection, socket, "connect failed");
            throw;
        }
    }

    /// <summary>Sends a command; the task completes with its reply or fails (never hangs: timeout, cancellation, connection loss).</summary>
    public Task<RedisResult> SendAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken) =>
        SendAsync(command, args, instrumented: true, cancellationToken);

    /// <summary>As above; <paramref name="instrumented"/> false keeps internal traffic (handshake, heartbeat) out of metrics and traces.</summary>
    public Task<RedisResult> SendAsync(string command, ReadOnlySpan<RedisArg> args, bool instrumented, CancellationToken cancellationToken)
    {
        var pending = new PendingCommand(command, _timeProvider, instrumented, _options.Host, _options.Port);
        pending.RegisterCancellation(cancellationToken);
        lock (_writeLock)
        {
            if (!CanEnqueue(pending))
            {
                return pending.Task;
            }

            RespWriter.WriteCommand(_output.Writer, command, args);
            Enqueue(pending);
        }

        return pending.Task;
    }

    /// <summary>Sends a command encoded earlier by <see cref="RespWriter.WriteCommand"/>.</summary>
    public Task<RedisResult> SendEncodedAsync(string command, ReadOnlySpan<byte> encoded, CancellationToken cancellationToken)
    {
        var pending = new PendingCommand(command, _timeProvider, instrumented: true, _options.Host, _options.Port);
        pending.RegisterCancellation(cancellationToken);
        lock (_writeLock)
        {
            if (!CanEnqueue(pending))
            {
                return pending.Task;
            }

            _output.Writer.Write(encoded);
            Enqueue(pending);
        }

        return pending.Task;
    }

    /// <summary>Breaks the connection: fails every pending command and closes the socket. Idempotent.</summary>
    public void Abort(string reason, Exception? cause = null)
    {
        lock (_writeLock)
        {
            if (_closeReason is not null)
            {
                return;
            }

            Volatile.Write(ref _closeReason, reason);
            _output.Writer.Complete();
        }

        _timer?.Dispose();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        var failure = Unavailable(reason, cause);
        while (_pending.TryDequeue(out var pending))
        {
            Interlocked.Decrement(ref _pendingCount);
            pending.Fail(failure);
        }

        _closed.TrySetResult(reason);
    }

    public async ValueTask DisposeAsync()
    {
        Abort("the client was disposed");
        await Task.WhenAll(_readLoop, _sendLoop);
    }

    internal RedisConnectionException Unavailable(string reason, Exception? cause = null) =>
        new($"Redis at {_options.Address} is unavailable: {reason}", cause);

    private static async Task DisposeAfterFailure(RespConnection? connection, Socket socket, string reason)
    {
        if (connection is not null)
        {
            connection.Abort(reason);
            await Task.WhenAll(connection._readLoop, connection._sendLoop);
        }
        else
        {
            socket.Dispose();
        }
    }

    private bool CanEnqueue(PendingCommand pending)
    {
        if (_closeReason is { } reason)
        {
            pending.Fail(Unavailable(reason));
            return false;
        }

        if (_pendingCount >= MaxPendingCommands)
        {
            pending.Fail(Unavailable($"more than {MaxPendingCommands} commands are waiting for replies"));
            return false;
        }

        return !pending.Task.IsCompleted; // canceled before it was written: skip it
    }

    /// <summary>Under the write lock, after the command's bytes: joins the reply FIFO and hands the bytes to the send loop.</summary>
    private void Enqueue(PendingCommand pending)
    {
        _pending.Enqueue(pending);
        Interlocked.Increment(ref _pendingCount);

        // The pipe never pauses (pauseWriterThreshold 0), so this completes synchronously.
        var flush = _output.Writer.FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
        }
        else
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
    }

    private void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _sendLoop = Task.Run(SendLoopAsync);
        var period = _options.CommandTimeout / 10;
        period = period < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10)
            : period > TimeSpan.FromMilliseconds(250) ? TimeSpan.FromMilliseconds(250)
            : period;
        _timer = _timeProvider.CreateTimer(static state => ((RespConnection)state!).OnTimer(), this, period, period);
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        Task<RedisResult>? auth = null, select = null, setName = null;
        if (_options.Password is not null)
        {
            auth = _options.User is null
                ? SendAsync("AUTH", [_options.Password], instrumented: false, cancellationToken)
                : SendAsync("AUTH", [_options.User, _options.Password], instrumented: false, cancellationToken);
        }

        if (_options.Database != 0)
        {
            select = SendAsync("SELECT", [_options.Database], instrumented: false, cancellationToken);
        }

        if (_options.ClientName is not null)
        {
            setName = SendAsync("CLIENT", ["SETNAME", _options.ClientName], instrumented: false, cancellationToken);
        }

        var ping = SendAsync("PING", [], instrumented: false, cancellationToken);

        if (auth is not null)
        {
            await Expect(auth, "authentication failed");
        }

        if (select is not null)
        {
            await Expect(select, $"SELECT {_options.Database.ToString(CultureInfo.InvariantCulture)} failed");
        }

        if (setName is not null)
        {
            try
            {
                await setName;
            }
            catch (RedisServerException ex)
            {
                _logger.LogWarning("Redis at {Address} rejected CLIENT SETNAME {ClientName}: {Error}", _options.Address, _options.ClientName, ex.Message);
            }
        }

        await Expect(ping, "PING failed");

        static async Task Expect(Task<RedisResult> reply, string what)
        {
            try
            {
                await reply;
            }
            catch (RedisServerException ex)
            {
                var hint = ex.ErrorCode == "NOAUTH" ? " (the server requires a password: set password= in the connection string)" : "";
                throw new RedisHandshakeException($"{what}: {ex.Message}{hint}", ex);
            }
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var remaining = segment;
                    while (!remaining.IsEmpty)
                    {
                        var sent = await _socket.SendAsync(remaining, SocketFlags.None);
                        remaining = remaining[sent..];
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Abort($"sending failed: {ex.Message}", ex);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Redis send loop for {Address} failed", _options.Address);
            Abort($"sending failed: {ex.Message}", ex);
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task ReadLoopAsync()
    {
        var stream = new NetworkStream(_socket, ownsSocket: false);
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                Volatile.Write(ref _lastReadTimestamp, _timeProvider.GetTimestamp());
                var reader = new SequenceReader<byte>(buffer);
                while (RespParser.TryRead(ref reader, out var reply))
                {
                    Dispatch(reply);
                }

                input.AdvanceTo(reader.Position, buffer.End);
                if (result.IsCompleted)
                {
                    Abort(reader.Remaining > 0 ? "the server closed the connection in the middle of a reply" : "the server closed the connection");
                    break;
                }
            }
        }
        catch (RedisProtocolException ex)
        {
            _logger.LogError(ex, "Invalid reply from Redis at {Address}; reconnecting", _options.Address);
            Abort($"protocol error: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            Abort($"connection lost: {(ex.InnerException ?? ex).Message}", ex);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Redis read loop for {Address} failed", _options.Address);
            Abort($"connection lost: {ex.Message}", ex);
        }
        finally
        {
            await input.CompleteAsync();
            await stream.DisposeAsync();
        }
    }

    private void Dispatch(in RedisResult reply)
    {
        if (_pushHandler is not null && IsPush(reply))
        {
            try
            {
                _pushHandler(reply);
            }
#pragma warning disable CA1031 // a bad handler must not kill the connection
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogError(ex, "Redis pub/sub message handler failed");
            }

            return;
        }

        if (!_pending.TryDequeue(out var pending))
        {
            throw new RedisProtocolException($"Unexpected reply with no command waiting: {reply}");
        }

        Interlocked.Decrement(ref _pendingCount);
        pending.Complete(reply);
    }

    /// <summary>RESP2 pub/sub deliveries: ["message", channel, payload] or ["pmessage", pattern, channel, payload].</summary>
    private static bool IsPush(in RedisResult reply)
    {
        if (reply.Type != RedisResultType.Array)
        {
            return false;
        }

        var items = reply.AsArray();
        return (items.Count == 3 && items[0].IsBulk("message"u8)) || (items.Count == 4 && items[0].IsBulk("pmessage"u8));
    }

    private static async Task ObserveAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (RedisException)
        {
            // A failed heartbeat needs no handling: the connection is being aborted, or the timeout sweep reports it.
        }
    }

    /// <summary>Every ~CommandTimeout/10: times out old commands, detects a dead peer, sends an idle heartbeat.</summary>
    private void OnTimer()
    {
        if (!IsOpen)
        {
            return;
        }

        var now = _timeProvider.GetTimestamp();
        foreach (var pending in _pending)
        {
            if (pending.Task.IsCompleted)
            {
                continue;
            }

            if (_timeProvider.GetElapsedTime(pending.StartTimestamp, now) < _options.CommandTimeout)
            {
                break; // FIFO: everything behind is younger
            }

            pending.Fail(new RedisTimeoutException(
                $"Redis command {pending.Command} timed out after {_options.CommandTimeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms "
                + $"(Redis at {_options.Address}, {Volatile.Read(ref _pendingCount).ToString(CultureInfo.InvariantCulture)} commands in flight)."));
        }

        var sinceRead = _timeProvider.GetElapsedTime(Volatile.Read(ref _lastReadTimestamp), now);
        if (_pending.TryPeek(out var oldest))
        {
            if (sinceRead > _deadAfter && _timeProvider.GetElapsedTime(oldest.StartTimestamp, now) > _deadAfter)
            {
                _logger.LogWarning("Redis at {Address} sent nothing for {Seconds:0} s with commands waiting; dropping the connection",
                    _options.Address, sinceRead.TotalSeconds);
                Abort($"no reply for {sinceRead.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s");
            }
        }
        else if (sinceRead > HeartbeatInterval && _timeProvider.GetElapsedTime(_lastHeartbeatTimestamp, now) > HeartbeatInterval)
        {
            // Idle: a PING keeps a half-open connection from going unnoticed (notably the subscriber's).
            _lastHeartbeatTimestamp = now;
            _ = ObserveAsync(SendAsync("PING", [], instrumented: false, CancellationToken.None));
        }
    }
}

/// <summary>Redis rejected the connection handshake (AUTH, SELECT, PING).</summary>
internal sealed class RedisHandshakeException(string message, Exception innerException) : Exception(message, innerException);
