using System.Security.Claims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Identity;

public sealed class ApiKeyVerifierTests
{
    private static readonly Guid Owner = Guid.Parse("0192f1a4-0000-7000-8000-0000000000aa");

    private readonly IdentityClock _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeAuthority _authority = new();

    private ApiKeyVerifier CreateVerifier() => new(
        new ServiceCollection().BuildServiceProvider(), // no IRedisClient: straight to the authority
        _authority,
        Microsoft.Extensions.Options.Options.Create(new SmartHubAuthenticationOptions()),
        _clock,
        NullLogger<ApiKeyVerifier>.Instance);

    private sealed class FakeAuthority : IApiKeyAuthority
    {
        public Dictionary<string, ApiKeyIdentity> Keys { get; } = new(StringComparer.Ordinal);

        public int Calls { get; private set; }

        public bool Down { get; set; }

        public Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken)
        {
            Calls++;
            return Down
                ? throw new SmartHubAuthenticationException(AuthenticationFailureKind.Unavailable, "down")
                : Task.FromResult(Keys.GetValueOrDefault(key));
        }
    }

    private (string Key, ApiKeyHash Hash) NewKey(int? rateLimit = null, string[]? scopes = null)
    {
        var key = ApiKeyFormat.Generate();
        _authority.Keys[key] = new ApiKeyIdentity(
            Guid.NewGuid(), Owner, "owner@example.com", ["user"], scopes ?? ["chat:use"], scopes ?? ["chat:use"], rateLimit, null);
        return (key, ApiKeyFormat.Hash(key));
    }

    [Fact]
    public async Task A_verified_key_is_served_from_memory_for_one_second()
    {
        var verifier = CreateVerifier();
        var (key, hash) = NewKey(rateLimit: 5);

        var lookup = await verifier.VerifyAsync(hash, key, CancellationToken.None);

        Assert.True(verifier.TryGetCached(hash, out var cached));
        Assert.Same(lookup, cached);
        Assert.Equal(1, _authority.Calls);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(verifier.TryGetCached(hash, out _));
    }

    [Fact]
    public async Task The_principal_carries_the_contract_claims()
    {
        var verifier = CreateVerifier();
        var (key, hash) = NewKey(rateLimit: 5, scopes: ["chat:use", "monitoring:read"]);

        var principal = (await verifier.VerifyAsync(hash, key, CancellationToken.None)).Principal!;

        var identity = _authority.Keys[key];
        Assert.Equal(SmartHubAuth.ApiKeyScheme, principal.Identity!.AuthenticationType);
        Assert.Equal("owner@example.com", principal.Identity.Name);
        Assert.Equal(Owner.ToString(), principal.FindFirstValue("sub"));
        Assert.Equal("api_key", principal.FindFirstValue("amr"));
        Assert.Equal(identity.KeyId.ToString(), principal.FindFirstValue("api_key_id"));
        Assert.Equal("5", principal.FindFirstValue("rate_limit_per_second"));
        Assert.Equal(["chat:use", "monitoring:read"], principal.FindAll("scope").Select(c => c.Value));
        Assert.Equal(["chat:use", "monitoring:read"], principal.FindAll("permission").Select(c => c.Value));
        Assert.True(principal.IsInRole("user"));
    }

    [Fact]
    public async Task Unknown_keys_are_cached_as_unknown_too()
    {
        var verifier = CreateVerifier();
        var key = ApiKeyFormat.Generate();

        var lookup = await verifier.VerifyAsync(ApiKeyFormat.Hash(key), key, CancellationToken.None);

        Assert.Null(lookup.Identity);
        Assert.True(verifier.TryGetCached(ApiKeyFormat.Hash(key), out var cached));
        Assert.Null(cached.Identity);
    }

    [Fact]
    public async Task A_revocation_message_evicts_the_key_at_once()
    {
        var verifier = CreateVerifier();
        var (key, hash) = NewKey();
        await verifier.VerifyAsync(hash, key, CancellationToken.None);
        var listener = new RevocationListener(new ServiceCollection().BuildServiceProvider(), verifier, NewRevocations(), NullLogger<RevocationListener>.Instance);

        listener.OnMessage(new RedisChannelMessage(SmartHubAuth.RevocationChannel, RedisResult.FromBulkString("apikey:" + hash.ToHex())));

        Assert.False(verifier.TryGetCached(hash, out _));
    }

    [Fact]
    public async Task A_user_revocation_message_evicts_all_their_keys()
    {
        var verifier = CreateVerifier();
        var (first, firstHash) = NewKey();
        var (second, secondHash) = NewKey();
        await verifier.VerifyAsync(firstHash, first, CancellationToken.None);
        await verifier.VerifyAsync(secondHash, second, CancellationToken.None);
        var listener = new RevocationListener(new ServiceCollection().BuildServiceProvider(), verifier, NewRevocations(), NullLogger<RevocationListener>.Instance);

        listener.OnMessage(new RedisChannelMessage(SmartHubAuth.RevocationChannel, RedisResult.FromBulkString("user:" + Owner)));

        Assert.False(verifier.TryGetCached(firstHash, out _));
        Assert.False(verifier.TryGetCached(secondHash, out _));
    }

    [Fact]
    public async Task An_unreachable_authority_is_unavailable_and_not_cached()
    {
        var verifier = CreateVerifier();
        var (key, hash) = NewKey();
        _authority.Down = true;

        var error = await Assert.ThrowsAsync<SmartHubAuthenticationException>(() => verifier.VerifyAsync(hash, key, CancellationToken.None));

        Assert.Equal(AuthenticationFailureKind.Unavailable, error.Kind);
        Assert.False(verifier.TryGetCached(hash, out _));
        _authority.Down = false;
        Assert.NotNull((await verifier.VerifyAsync(hash, key, CancellationToken.None)).Identity);
    }

    [Fact]
    public async Task Identity_survives_the_redis_json_round_trip()
    {
        var identity = new ApiKeyIdentity(Guid.NewGuid(), Owner, "o@example.com", ["user"], ["chat:use"], ["chat:use"], 10,
            new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));

        var json = System.Text.Json.JsonSerializer.Serialize(identity, AuthJsonContext.Default.ApiKeyIdentity);
        var back = System.Text.Json.JsonSerializer.Deserialize(json, AuthJsonContext.Default.ApiKeyIdentity)!;

        Assert.Contains("\"keyId\":", json, StringComparison.Ordinal);
        Assert.Contains("\"rateLimitPerSecond\":10", json, StringComparison.Ordinal);
        Assert.Contains("\"expiresAt\":\"2027-01-01T00:00:00+00:00\"", json, StringComparison.Ordinal);
        Assert.Equal(identity.ExpiresAt, back.ExpiresAt);
        Assert.Equal(identity.Permissions, back.Permissions);
        await Task.CompletedTask;
    }

    private RevocationCache NewRevocations() => new(
        new ServiceCollection().BuildServiceProvider(),
        Microsoft.Extensions.Options.Options.Create(new SmartHubAuthenticationOptions()),
        _clock,
        NullLogger<RevocationCache>.Instance);
}
