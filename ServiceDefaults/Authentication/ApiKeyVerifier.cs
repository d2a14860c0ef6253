using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// The source of truth for API keys, asked when a key is not in Redis: AuthService's internal verify endpoint in the
/// services, AuthService's own database inside AuthService. Register an implementation before
/// <c>AddSmartHubAuthentication()</c> to replace the HTTP one.
/// </summary>
public interface IApiKeyAuthority
{
    /// <summary>The key's identity, or null when it is unknown, revoked or expired (or its owner is disabled).</summary>
    /// <exception cref="SmartHubAuthenticationException">With kind Unavailable: the authority could not be asked.</exception>
    Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken);
}

/// <summary><c>POST http://auth/internal/auth/api-keys/verify</c> with the internal token: 200 identity or 404.</summary>
internal sealed class HttpApiKeyAuthority(
    IHttpClientFactory httpClientFactory,
    IOptions<SmartHubAuthenticationOptions> options,
    IOptions<InternalOptions> internalOptions,
    TimeProvider timeProvider) : IApiKeyAuthority
{
    internal const string HttpClientName = "SmartHub.ApiKeyVerify";

    public async Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var timeout = new CancellationTokenSource(settings.AuthServiceTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, settings.ApiKeyVerifyUri)
            {
                Content = JsonContent.Create(new ApiKeyVerifyRequest(key), AuthJsonContext.Default.ApiKeyVerifyRequest),
            };
            request.Headers.TryAddWithoutValidation(SmartHubAuth.InternalTokenHeader, internalOptions.Value.Token);

            var client = httpClientFactory.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new SmartHubAuthenticationException(
                    AuthenticationFailureKind.Unavailable,
                    $"API keys cannot be verified right now (the auth service answered {(int)response.StatusCode}).");
            }

            return await response.Content.ReadFromJsonAsync(AuthJsonContext.Default.ApiKeyIdentity, linked.Token).ConfigureAwait(false)
                ?? throw new SmartHubAuthenticationException(AuthenticationFailureKind.Unavailable, "The auth service sent an empty API-key identity.");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new SmartHubAuthenticationException(
                AuthenticationFailureKind.Unavailable,
                timeout.IsCancellationRequested
                    ? $"API keys cannot be verified right now (no answer from the auth service within {settings.AuthServiceTimeout.TotalSeconds:0.#} s)."
                    : "API keys cannot be verified right now (the auth service is unreachable).");
        }
    }
}

/// <summary>A verified (or rejected) key, with the authentication result built once and shared by every request using it.</summary>
public sealed class ApiKeyLookup
{
    public static readonly ApiKeyLookup NotFound = new(null);

    private ApiKeyLookup(ApiKeyIdentity? identity)
    {
        Identity = identity;
        if (identity is not null)
        {
            Principal = CreatePrincipal(identity);
            SuccessTask = Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal, SmartHubAuth.ApiKeyScheme)));
        }
    }

    public ApiKeyIdentity? Identity { get; }

    /// <summary>Shared across requests: treat as read-only.</summary>
    public ClaimsPrincipal? Principal { get; }

    internal Task<AuthenticateResult>? SuccessTask { get; }

    public static ApiKeyLookup For(ApiKeyIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new ApiKeyLookup(identity);
    }

    /// <summary>sub, email, role*, permission* (effective), scope*, amr=api_key, api_key_id, rate_limit_per_second.</summary>
    public static ClaimsPrincipal CreatePrincipal(ApiKeyIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var claims = new List<Claim>(8 + identity.Roles.Count + identity.Permissions.Count + identity.Scopes.Count)
        {
            new(SmartHubClaims.Subject, identity.UserId.ToString()),
            new(SmartHubClaims.Email, identity.Email),
            new(SmartHubClaims.AuthenticationMethod, SmartHubClaims.ApiKeyMethod),
            new(SmartHubClaims.ApiKeyId, identity.KeyId.ToString()),
        };
        claims.AddRange(identity.Roles.Select(role => new Claim(SmartHubClaims.Role, role)));
        claims.AddRange(identity.Permissions.Select(permission => new Claim(SmartHubClaims.Permission, permission)));
        claims.AddRange(identity.Scopes.Select(scope => new Claim(SmartHubClaims.Scope, scope)));
        if (identity.RateLimitPerSecond is { } limit)
        {
            claims.Add(new Claim(SmartHubClaims.RateLimitPerSecond, limit.ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer32));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, SmartHubAuth.ApiKeyScheme, SmartHubClaims.Email, SmartHubClaims.Role));
    }
}

/// <summary>
/// API-key verification: in-process cache (positive and negative entries, 1 s, bounded) → Redis
/// <c>auth:apikey:{sha256hex}</c> → the <see cref="IApiKeyAuthority"/> (AuthService), which also fills Redis. A Redis
/// failure goes straight to the authority. Revocation messages evict entries at once; the 1 s lifetime bounds the
/// damage of a lost message, so a revoked key stops working within ~2 s everywhere.
/// </summary>
public sealed class ApiKeyVerifier
{
    private readonly LocalCache<ApiKeyHash, ApiKeyLookup> _cache;
    private readonly IRedisClient? _redis;
    private readonly IApiKeyAuthority _authority;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ApiKeyVerifier> _logger;
    private readonly LogThrottle _redisWarning;

    public ApiKeyVerifier(
        IServiceProvider services,
        IApiKeyAuthority authority,
        IOptions<SmartHubAuthenticationOptions> options,
        TimeProvider timeProvider,
        ILogger<ApiKeyVerifier> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _redis = services.GetService<IRedisClient>();
        _authority = authority;
        _timeProvider = timeProvider;
        _logger = logger;
        _redisWarning = new LogThrottle(TimeSpan.FromMinutes(1), timeProvider);
        _cache = new LocalCache<ApiKeyHash, ApiKeyLookup>(options.Value.LocalCacheDuration, options.Value.LocalCacheSize, timeProvider);
    }

    /// <summary>The hit path: no I/O, no allocation.</summary>
    public bool TryGetCached(ApiKeyHash hash, out ApiKeyLookup lookup) => _cache.TryGetFresh(hash, out lookup);

    /// <summary>The miss path: Redis, then AuthService. Concurrent misses for one key share one lookup.</summary>
    /// <exception cref="SmartHubAuthenticationException">With kind Unavailable.</exception>
    public Task<ApiKeyLookup> VerifyAsync(ApiKeyHash hash, string key, CancellationToken cancellationToken) =>
        _cache.GetOrLoadAsync(hash, static (h, state) => state.Self.LoadAsync(h, state.Key), (Self: this, Key: key)).WaitAsync(cancellationToken);

    public void Evict(ApiKeyHash hash) => _cache.Remove(hash);

    public void EvictUser(Guid userId) =>
        _cache.RemoveWhere(static (lookup, id) => lookup.Identity?.UserId == id, userId);

    public void EvictAll() => _cache.Clear();

    private async Task<ApiKeyLookup> LoadAsync(ApiKeyHash hash, string key)
    {
        if (_redis is not null)
        {
            var (json, failure) = await BoundedRedisGet.GetBytesAsync(_redis, SmartHubAuth.ApiKeyCacheKey(hash.ToHex()), _timeProvider)
                .ConfigureAwait(false);
            if (failure is not null)
            {
                WarnRedisDown(failure);
            }
            else if (json is not null)
            {
                try
                {
                    if (JsonSerializer.Deserialize(json, AuthJsonContext.Default.ApiKeyIdentity) is { } cached)
                    {
                        return ApiKeyLookup.For(cached);
                    }
                }
                catch (JsonException ex)
                {
                    _logger.LogWarning("A cached API-key identity in Redis is unreadable; asking the auth service: {Reason}", ex.Message);
                }
            }
        }

        // Not bound to one request's cancellation: other requests may be waiting for the same lookup.
        var identity = await _authority.VerifyAsync(key, CancellationToken.None).ConfigureAwait(false);
        return identity is null ? ApiKeyLookup.NotFound : ApiKeyLookup.For(identity);
    }

    private void WarnRedisDown(string reason)
    {
        if (_redisWarning.TryEnter())
        {
            _logger.LogWarning("Redis is unavailable; API keys are verified with the auth service directly: {Reason}", reason);
        }
    }
}
