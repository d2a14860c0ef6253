using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using SmartHub.Gateway.Proxy;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// Which bucket a request draws from. API routes: the API key (<c>api_key_id</c>), else the user (<c>sub</c>), else
/// the client IP. Auth routes: always the client IP (login and registration are what an attacker hammers, and they
/// are anonymous). IPv6 clients are grouped by /64, the block one subscriber normally gets.
/// </summary>
internal sealed class RateLimitKeys(RateLimitOptions options)
{
    public const string KeyPrefix = "ratelimit:";

    private readonly BucketParameters _api = options.Api.ToParameters();
    private readonly BucketParameters _auth = options.Auth.ToParameters();

    // Per-key overrides come as whole requests per second; their parameters are cached (few distinct values, bounded).
    private const int MaxCachedOverrides = 1024;
    private readonly ConcurrentDictionary<int, BucketParameters> _overrides = new();
    private int _cachedOverrides;

    public BucketParameters Api => _api;

    public BucketParameters Auth => _auth;

    /// <summary>The Redis key (also the local bucket's name) and the parameters for a request.</summary>
    public (string Key, BucketParameters Parameters) Select(RateLimitScope scope, ClaimsPrincipal? user, IPAddress? clientAddress)
    {
        if (scope == RateLimitScope.Auth)
        {
            return (string.Concat(KeyPrefix, "auth:ip:", ClientKey(clientAddress)), _auth);
        }

        if (user?.Identity?.IsAuthenticated == true)
        {
            if (user.FindFirst(SmartHubClaims.ApiKeyId)?.Value is { Length: > 0 } keyId)
            {
                return (string.Concat(KeyPrefix, "api:key:", keyId), Override(user) ?? _api);
            }

            if ((user.FindFirst(SmartHubClaims.Subject) ?? user.FindFirst(ClaimTypes.NameIdentifier))?.Value is { Length: > 0 } subject)
            {
                return (string.Concat(KeyPrefix, "api:user:", subject), _api);
            }
        }

        return (string.Concat(KeyPrefix, "api:ip:", ClientKey(clientAddress)), _api);
    }

    /// <summary>The key's own limit from <c>rate_limit_per_second</c> (a positive integer), burst 2× the rate.</summary>
    private BucketParameters? Override(ClaimsPrincipal user)
    {
        var claim = user.FindFirst(SmartHubClaims.RateLimitPerSecond)?.Value;
        if (claim is null
            || !int.TryParse(claim, NumberStyles.None, CultureInfo.InvariantCulture, out var perSecond)
            || perSecond <= 0)
        {
            return null;
        }

        if (_overrides.TryGetValue(perSecond, out var cached))
        {
            return cached;
        }

        var parameters = BucketParameters.Create(perSecond, BucketParameters.DefaultBurst(perSecond));
        if (Volatile.Read(ref _cachedOverrides) < MaxCachedOverrides && _overrides.TryAdd(perSecond, parameters))
        {
            Interlocked.Increment(ref _cachedOverrides);
        }

        return parameters;
    }

    /// <summary>"203.0.113.7"; IPv4-mapped IPv6 as IPv4; other IPv6 as its /64 ("2001:db8:1:2::/64").</summary>
    public static string ClientKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
