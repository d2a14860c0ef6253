using System.Net;
using System.Security.Claims;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.RateLimiting;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Gateway;

public sealed class RateLimitKeysTests
{
    private static readonly IPAddress Client = IPAddress.Parse("203.0.113.7");
    private readonly RateLimitKeys _keys = new(new RateLimitOptions());

    private static ClaimsPrincipal User(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "test"));

    private static ClaimsPrincipal ApiKey(string? rateLimit = null) => User(
        [(SmartHubClaims.Subject, "user-1"), (SmartHubClaims.ApiKeyId, "key-9"), .. rateLimit is null ? [] : new[] { (SmartHubClaims.RateLimitPerSecond, rateLimit) }]);

    [Fact]
    public void Api_key_is_the_key_and_its_own_limit_overrides_the_default_with_twice_the_burst()
    {
        var (key, parameters) = _keys.Select(RateLimitScope.Api, ApiKey("3"), Client);

        Assert.Equal("ratelimit:api:key:key-9", key);
        Assert.Equal(3, parameters.PermitsPerSecond);
        Assert.Equal(6, parameters.Burst);
        Assert.Equal("3", parameters.LimitHeader);
    }

    [Fact]
    public void Api_key_without_override_uses_the_api_defaults()
    {
        var (key, parameters) = _keys.Select(RateLimitScope.Api, ApiKey(), Client);

        Assert.Equal("ratelimit:api:key:key-9", key);
        Assert.Equal(10, parameters.PermitsPerSecond);
        Assert.Equal(20, parameters.Burst);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("ten")]
    [InlineData("2.5")]
    [InlineData("")]
    public void A_bad_override_claim_is_ignored(string claim)
    {
        var (_, parameters) = _keys.Select(RateLimitScope.Api, ApiKey(claim), Client);

        Assert.Same(_keys.Api, parameters);
    }

    [Fact]
    public void A_user_without_a_key_is_keyed_by_sub()
    {
        var (key, parameters) = _keys.Select(RateLimitScope.Api, User((SmartHubClaims.Subject, "user-1"), (SmartHubClaims.RateLimitPerSecond, "500")), Client);

        Assert.Equal("ratelimit:api:user:user-1", key);
        Assert.Same(_keys.Api, parameters); // the override belongs to API keys only
    }

    [Fact]
    public void Anonymous_callers_are_keyed_by_client_address()
    {
        Assert.Equal("ratelimit:api:ip:203.0.113.7", _keys.Select(RateLimitScope.Api, new ClaimsPrincipal(new ClaimsIdentity()), Client).Key);
        Assert.Equal("ratelimit:api:ip:unknown", _keys.Select(RateLimitScope.Api, null, null).Key);
    }

    [Fact]
    public void Claims_of_an_unauthenticated_identity_are_not_trusted()
    {
        var unauthenticated = new ClaimsPrincipal(new ClaimsIdentity([new Claim(SmartHubClaims.ApiKeyId, "key-9")]));

        Assert.Equal("ratelimit:api:ip:203.0.113.7", _keys.Select(RateLimitScope.Api, unauthenticated, Client).Key);
    }

    [Fact]
    public void Auth_routes_are_always_per_client_address_with_the_auth_limits()
    {
        var (key, parameters) = _keys.Select(RateLimitScope.Auth, ApiKey("1000"), Client);

        Assert.Equal("ratelimit:auth:ip:203.0.113.7", key);
        Assert.Equal(5, parameters.PermitsPerSecond);
        Assert.Equal(10, parameters.Burst);
    }

    [Theory]
    [InlineData("198.51.100.4", "198.51.100.4")]
    [InlineData("::ffff:198.51.100.4", "198.51.100.4")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void Client_addresses_are_normalized_and_ipv6_grouped_by_64(string address, string expected)
    {
        Assert.Equal(expected, RateLimitKeys.ClientKey(IPAddress.Parse(address)));
    }

    [Fact]
    public void Configured_rates_and_default_bursts()
    {
        var keys = new RateLimitKeys(new RateLimitOptions
        {
            Api = new TokenBucketOptions { PermitsPerSecond = 100 },
            Auth = new TokenBucketOptions { PermitsPerSecond = 0.5, Burst = 3 },
        });

        Assert.Equal(200, keys.Api.Burst);
        Assert.Equal(3, keys.Auth.Burst);
        Assert.Equal("0.5", keys.Auth.LimitHeader);
    }

    [Fact]
    public void Options_validation_names_every_bad_setting()
    {
        var result = new RateLimitOptionsValidator().Validate(null, new RateLimitOptions
        {
            Api = new TokenBucketOptions { PermitsPerSecond = 0 },
            Auth = new TokenBucketOptions { PermitsPerSecond = 5, Burst = 0 },
            RedisTimeoutMilliseconds = 0,
        });

        Assert.True(result.Failed);
        Assert.Contains("RateLimits:Api:PermitsPerSecond", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("RateLimits:Auth:Burst", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("RateLimits:RedisTimeoutMilliseconds", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new RateLimitOptionsValidator().Validate(null, new RateLimitOptions()).Succeeded);
    }
}
