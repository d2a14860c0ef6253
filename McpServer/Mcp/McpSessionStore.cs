using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// One MCP session of the stateful mode: its transport and server, the user who opened it, and the bookkeeping that
/// decides when it may be closed (requests in flight, last activity, the one GET stream).
/// </summary>
internal sealed class McpSession : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly IAsyncDisposable _server;
    private readonly Task _running;
    private DateTimeOffset _lastActivity;
    private int _references;
    private bool _closed;
    private bool _streamOpen;
    private int _disposed;

    public McpSession(string id, Guid ownerId, StreamableHttpServerTransport transport, IAsyncDisposable server, Task running, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(running);
        if (ownerId == Guid.Empty)
        {
            throw new ArgumentException("A session belongs to a user.", nameof(ownerId));
        }

        Id = id;
        OwnerId = ownerId;
        Transport = transport;
        _server = server;
        _running = running;
        _lastActivity = now;
    }

    public string Id { get; }

    /// <summary>The user who opened the session; nobody else can use it.</summary>
    public Guid OwnerId { get; }

    public StreamableHttpServerTransport Transport { get; }

    public DateTimeOffset LastActivity
    {
        get
        {
            lock (_gate)
            {
                return _lastActivity;
            }
        }
    }

    /// <summary>No request (POST or GET stream) is using the session.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_gate)
            {
                return _references == 0;
            }
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Marks a request as using the session; false once it is closed (the request then answers 404).</summary>
    public bool TryAcquire(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _references++;
            _lastActivity = now;
            return true;
        }
    }

    /// <summary>The request that acquired the session is done with it; the idle clock starts again from now.</summary>
    public void Release(DateTimeOffset now)
    {
        lock (_gate)
        {
            _references = Math.Max(0, _references - 1);
            _lastActivity = now;
        }
    }

    /// <summary>Claims the session's one GET stream (server-to-client messages); false while another is open.</summary>
    public bool TryOpenStream()
    {
        lock (_gate)
        {
            if (_streamOpen)
            {
                return false;
            }

            _streamOpen = true;
            return true;
        }
    }

    public void CloseStream()
    {
        lock (_gate)
        {
            _streamOpen = false;
        }
    }

    /// <summary>Closes the session whatever it is doing (DELETE, shutdown); false when it was closed already.</summary>
    public bool TryClose()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _closed = true;
            return true;
        }
    }

    /// <summary>Closes the session only if no request uses it and it has been idle for <paramref name="idleFor"/> or longer.</summary>
    public bool TryCloseIdle(DateTimeOffset now, TimeSpan idleFor)
    {
        lock (_gate)
        {
            if (_closed || _references > 0 || now - _lastActivity < idleFor)
            {
                return false;
            }

            _closed = true;
            return true;
        }
    }

    /// <summary>Ends the transport (open streams end, the server's message loop stops), then the server. Once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        TryClose();
        try
        {
            await Transport.DisposeAsync();
            await _running.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            // The message loop ends by cancellation, or is left behind after 5 s: the server's disposal below stops it.
        }
        finally
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Why <see cref="McpSessionStore.Admit"/> refused a new session.</summary>
internal enum McpAdmission
{
    Admitted,

    /// <summary>The user has <see cref="McpOptions.MaxSessionsPerUser"/> sessions and every one is busy.</summary>
    UserLimit,

    /// <summary>The replica holds <see cref="McpOptions.MaxSessions"/> sessions and none has been idle past the timeout.</summary>
    Full,
}

/// <summary>
/// The stateful mode's sessions in this replica's memory, by id. A session is found only by the user who opened it: to
/// anyone else it does not exist (404), so a leaked session id gives nothing to another user, and a user's sessions share
/// nothing with another user's. Bounded per user (the least recently used idle session makes room) and in all (a new
/// session is refused once idle ones are gone); <see cref="McpSessionReaper"/> closes sessions idle past the timeout.
/// </summary>
internal sealed class McpSessionStore : IAsyncDisposable
{
    /// <summary>Longer ids are not ours (ours have 22 characters): refused before any lookup.</summary>
    public const int MaxIdLength = 64;

    private readonly ConcurrentDictionary<string, McpSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _admission = new();
    private readonly McpOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<McpSessionStore> _logger;

    public McpSessionStore(IOptions<McpOptions> options, TimeProvider timeProvider, ILogger<McpSessionStore> logger, ServiceTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        telemetry?.Meter.CreateObservableGauge(
            "smarthub.mcp.sessions", () => _sessions.Count, unit: "{session}", description: "MCP sessions held by this replica.");
    }

    public int Count => _sessions.Count;

    /// <summary>A new session id: 128 random bits, base64url (visible ASCII, as the MCP specification requires).</summary>
    public static string NewSessionId()
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        return Base64Url.EncodeToString(random);
    }

    /// <summary>The caller's session <paramref name="id"/>, or null when it is unknown, closed, or another user's.</summary>
    public McpSession? Find(string? id, Guid callerId)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength || callerId == Guid.Empty)
        {
            return null;
        }

        return _sessions.TryGetValue(id, out var session) && session.OwnerId == callerId && !session.IsClosed ? session : null;
    }

    /// <summary>
    /// Adds a new session if the limits allow it. Sessions closed to make room are removed and returned in
    /// <paramref name="closed"/>: the caller disposes them.
    /// </summary>
    public McpAdmission Admit(McpSession session, out IReadOnlyList<McpSession> closed)
    {
        ArgumentNullException.ThrowIfNull(session);
        var removed = new List<McpSession>();
        closed = removed;
        var now = _timeProvider.GetUtcNow();

        lock (_admission)
        {
            var own = _sessions.Values.Where(s => s.OwnerId == session.OwnerId && !s.IsClosed).ToList();
            if (own.Count >= _options.MaxSessionsPerUser)
            {
                // The client that forgot to DELETE its old sessions keeps working: its least recently used idle one goes.
                var oldest = own.Where(s => s.IsIdle).OrderBy(s => s.LastActivity).FirstOrDefault();
                if (oldest is null || !oldest.TryClose())
                {
                    return McpAdmission.UserLimit;
                }

                Forget(oldest);
                removed.Add(oldest);
                _logger.LogInformation("MCP session {SessionId} of user {UserId} closed to make room for a new one (limit {Limit} per user).",
                    oldest.Id, oldest.OwnerId, _options.MaxSessionsPerUser);
            }

            if (_sessions.Count >= _options.MaxSessions)
            {
                removed.AddRange(CloseIdleCore(now));
                if (_sessions.Count >= _options.MaxSessions)
                {
                    return McpAdmission.Full;
                }
            }

            if (!_sessions.TryAdd(session.Id, session))
            {
                throw new InvalidOperationException("Session id collision: 128 random bits should never collide.");
            }

            return McpAdmission.Admitted;
        }
    }

    /// <summary>Removes a session (DELETE); false when it was gone already.</summary>
    public bool Remove(McpSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.TryClose();
        return Forget(session);
    }

    /// <summary>Removes the sessions idle past <see cref="McpOptions.IdleTimeout"/> and returns them for disposal.</summary>
    public IReadOnlyList<McpSession> CloseIdle() => CloseIdleCore(_timeProvider.GetUtcNow());

    /// <summary>Closes every session (shutdown).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions.Values)
        {
            Remove(session);
            await DisposeQuietlyAsync(session);
        }
    }

    /// <summary>Disposes a removed session; a failure is logged, never thrown (the caller is cleaning up).</summary>
    public async ValueTask DisposeQuietlyAsync(McpSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        try
        {
            await session.DisposeAsync();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "MCP session {SessionId} did not close cleanly.", session.Id);
        }
    }

    private List<McpSession> CloseIdleCore(DateTimeOffset now)
    {
        var idle = new List<McpSession>();
        foreach (var session in _sessions.Values)
        {
            if (session.TryCloseIdle(now, _options.IdleTimeout))
            {
                Forget(session);
                idle.Add(session);
            }
        }

        if (idle.Count > 0)
        {
            _logger.LogInformation("{Count} MCP session(s) closed after {IdleTimeout} without a request.", idle.Count, _options.IdleTimeout);
        }

        return idle;
    }

    private bool Forget(McpSession session) => _sessions.TryRemove(new KeyValuePair<string, McpSession>(session.Id, session));
}

/// <summary>Closes idle sessions every quarter of <see cref="McpOptions.IdleTimeout"/> (1 s to 1 min).</summary>
internal sealed class McpSessionReaper(McpSessionStore store, IOptions<McpOptions> options, TimeProvider timeProvider) : BackgroundService
{
    public static TimeSpan SweepPeriod(TimeSpan idleTimeout) =>
        TimeSpan.FromTicks(Math.Clamp(idleTimeout.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Stateless)
        {
            return;
        }

        using var timer = new PeriodicTimer(SweepPeriod(options.Value.IdleTimeout), timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var session in store.CloseIdle())
                {
                    await store.DisposeQuietlyAsync(session);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the store closes what is left when the container disposes it.
        }
    }
}
