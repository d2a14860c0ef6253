using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;
using SmartHub.McpServer.Mcp;

namespace SmartHub.UnitTests.Mcp;

/// <summary>Session ownership, limits and idle expiry, on a clock the tests move.</summary>
public sealed class McpSessionStoreTests : IAsyncDisposable
{
    private readonly McpClock _clock = new();
    private readonly McpSessionStore _store;
    private readonly List<McpSession> _created = [];

    public McpSessionStoreTests() : this(new McpOptions { MaxSessions = 4, MaxSessionsPerUser = 2, IdleTimeout = TimeSpan.FromMinutes(10) })
    {
    }

    private McpSessionStoreTests(McpOptions options)
    {
        Options = options;
        _store = new McpSessionStore(Microsoft.Extensions.Options.Options.Create(options), _clock, NullLogger<McpSessionStore>.Instance);
    }

    private McpOptions Options { get; }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        foreach (var session in _created)
        {
            await session.DisposeAsync();
        }
    }

    private McpSession NewSession(Guid owner)
    {
        var session = new McpSession(
            McpSessionStore.NewSessionId(),
            owner,
            new StreamableHttpServerTransport(NullLoggerFactory.Instance),
            new NothingToDispose(),
            Task.CompletedTask,
            _clock.GetUtcNow());
        _created.Add(session);
        return session;
    }

    private McpSession Admitted(Guid owner)
    {
        var session = NewSession(owner);
        Assert.Equal(McpAdmission.Admitted, _store.Admit(session, out var closed));
        Assert.Empty(closed);
        return session;
    }

    [Fact]
    public void A_session_is_found_by_its_owner_only()
    {
        var alice = Guid.NewGuid();
        var session = Admitted(alice);

        Assert.Same(session, _store.Find(session.Id, alice));
        Assert.Null(_store.Find(session.Id, Guid.NewGuid()));
        Assert.Null(_store.Find(session.Id, Guid.Empty));
        Assert.Null(_store.Find("unknown", alice));
        Assert.Null(_store.Find(null, alice));
        Assert.Null(_store.Find(new string('a', McpSessionStore.MaxIdLength + 1), alice));
    }

    [Fact]
    public void Session_ids_are_random_visible_ascii()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => McpSessionStore.NewSessionId()).ToList();

        Assert.Equal(100, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.True(id.Length == 22 && id.All(c => c is >= '!' and <= '~'), id));
    }

    [Fact]
    public void A_session_without_an_owner_cannot_exist()
    {
        Assert.Throws<ArgumentException>(() => NewSession(Guid.Empty));
    }

    [Fact]
    public void A_user_at_the_limit_loses_the_least_recently_used_idle_session()
    {
        var alice = Guid.NewGuid();
        var oldest = Admitted(alice);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var newer = Admitted(alice);
        _clock.Advance(TimeSpan.FromSeconds(1));
        oldest.Release(_clock.GetUtcNow()); // used last: now the most recent

        var third = NewSession(alice);
        var admission = _store.Admit(third, out var closed);

        Assert.Equal(McpAdmission.Admitted, admission);
        Assert.Same(newer, Assert.Single(closed));
        Assert.True(newer.IsClosed);
        Assert.Null(_store.Find(newer.Id, alice));
        Assert.Same(oldest, _store.Find(oldest.Id, alice));
        Assert.Same(third, _store.Find(third.Id, alice));
    }

    [Fact]
    public void A_user_whose_sessions_are_all_busy_is_refused()
    {
        var alice = Guid.NewGuid();
        Assert.True(Admitted(alice).TryAcquire(_clock.GetUtcNow()));
        Assert.True(Admitted(alice).TryAcquire(_clock.GetUtcNow()));

        var admission = _store.Admit(NewSession(alice), out var closed);

        Assert.Equal(McpAdmission.UserLimit, admission);
        Assert.Empty(closed);
        Assert.Equal(2, _store.Count);
    }

    [Fact]
    public void One_users_limit_does_not_touch_another_users_sessions()
    {
        var alice = Guid.NewGuid();
        var bob = Guid.NewGuid();
        var bobs = Admitted(bob);
        Admitted(alice);
        Admitted(alice);

        Assert.Equal(McpAdmission.Admitted, _store.Admit(NewSession(alice), out var closed));

        Assert.Equal(alice, Assert.Single(closed).OwnerId);
        Assert.Same(bobs, _store.Find(bobs.Id, bob));
    }

    [Fact]
    public void A_full_store_refuses_until_idle_sessions_expire()
    {
        for (var i = 0; i < Options.MaxSessions; i++)
        {
            Admitted(Guid.NewGuid());
        }

        Assert.Equal(McpAdmission.Full, _store.Admit(NewSession(Guid.NewGuid()), out _));

        _clock.Advance(Options.IdleTimeout);
        var admission = _store.Admit(NewSession(Guid.NewGuid()), out var closed);

        Assert.Equal(McpAdmission.Admitted, admission);
        Assert.Equal(Options.MaxSessions, closed.Count);
        Assert.Equal(1, _store.Count);
    }

    [Fact]
    public void Idle_sessions_close_after_the_timeout_and_busy_ones_never()
    {
        var alice = Guid.NewGuid();
        var idle = Admitted(alice);
        var busy = Admitted(Guid.NewGuid());
        Assert.True(busy.TryAcquire(_clock.GetUtcNow()));

        _clock.Advance(Options.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Empty(_store.CloseIdle());
        _clock.Advance(TimeSpan.FromSeconds(1));
        var closed = _store.CloseIdle();

        Assert.Same(idle, Assert.Single(closed));
        Assert.False(idle.TryAcquire(_clock.GetUtcNow()));
        Assert.Null(_store.Find(idle.Id, alice));
        Assert.Same(busy, _store.Find(busy.Id, busy.OwnerId));
    }

    [Fact]
    public void Every_request_restarts_the_idle_clock()
    {
        var alice = Guid.NewGuid();
        var session = Admitted(alice);
        _clock.Advance(TimeSpan.FromMinutes(9));
        Assert.True(session.TryAcquire(_clock.GetUtcNow()));
        session.Release(_clock.GetUtcNow());

        _clock.Advance(TimeSpan.FromMinutes(9));

        Assert.Empty(_store.CloseIdle());
        Assert.Same(session, _store.Find(session.Id, alice));
    }

    [Fact]
    public void A_removed_session_is_gone_and_refuses_new_requests()
    {
        var alice = Guid.NewGuid();
        var session = Admitted(alice);

        Assert.True(_store.Remove(session));
        Assert.False(_store.Remove(session));
        Assert.Null(_store.Find(session.Id, alice));
        Assert.False(session.TryAcquire(_clock.GetUtcNow()));
    }

    [Fact]
    public void A_session_has_one_get_stream_at_a_time()
    {
        var session = Admitted(Guid.NewGuid());

        Assert.True(session.TryOpenStream());
        Assert.False(session.TryOpenStream());
        session.CloseStream();
        Assert.True(session.TryOpenStream());
    }

    [Theory]
    [InlineData(1_800, 60)]
    [InlineData(20, 5)]
    [InlineData(2, 1)]
    public void The_reaper_sweeps_every_quarter_of_the_idle_timeout_between_1_s_and_1_min(int idleSeconds, int sweepSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(sweepSeconds), McpSessionReaper.SweepPeriod(TimeSpan.FromSeconds(idleSeconds)));
    }

    private sealed class NothingToDispose : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
