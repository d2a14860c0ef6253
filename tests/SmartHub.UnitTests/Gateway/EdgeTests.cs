using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using SmartHub.Gateway.Edge;

namespace SmartHub.UnitTests.Gateway;

public sealed class EdgeTests
{
    [Fact]
    public void Internal_identity_headers_are_stripped_and_credentials_kept()
    {
        var headers = new HeaderDictionary
        {
            ["Authorization"] = "Bearer shk_x",
            ["X-API-Key"] = "shk_y",
            ["X-Correlation-ID"] = "c-1",
            ["Content-Type"] = "application/json",
            ["X-Internal-Token"] = "forged",
            ["x-smarthub-user-id"] = "1",
            ["X-SmartHub-Permissions"] = "users:manage",
            ["X-User-Id"] = "1",
            ["X-User-Roles"] = "admin",
            ["X-Forwarded-User"] = "bob",
            ["Remote-User"] = "bob",
            ["X-Auth-Request-Email"] = "bob@example.com",
            ["X-Api-Key-Id"] = "key-1",
        };

        var removed = InternalHeaders.Strip(headers);

        Assert.Equal(9, removed);
        Assert.Equal(["Authorization", "X-API-Key", "X-Correlation-ID", "Content-Type"], headers.Keys);
    }

    [Fact]
    public void Nothing_to_strip_changes_nothing()
    {
        var headers = new HeaderDictionary { ["Accept"] = "*/*", ["X-Request-Id"] = "1", ["Referer"] = "x" };

        Assert.Equal(0, InternalHeaders.Strip(headers));
        Assert.Equal(3, headers.Count);
    }

    [Fact]
    public void Body_too_large_is_recognized_even_when_wrapped()
    {
        var tooLarge = new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);

        Assert.True(RequestBodyLimits.IsBodyTooLarge(tooLarge));
        Assert.True(RequestBodyLimits.IsBodyTooLarge(new AggregateException(new IOException("copy"), tooLarge)));
        Assert.True(RequestBodyLimits.IsBodyTooLarge(new IOException("copy", tooLarge)));
        Assert.False(RequestBodyLimits.IsBodyTooLarge(new BadHttpRequestException("Bad chunk", StatusCodes.Status400BadRequest)));
        Assert.Equal("1 MiB", RequestBodyLimits.Describe(1024 * 1024));
        Assert.Equal("8 MiB", RequestBodyLimits.Describe(8 * 1024 * 1024));
        Assert.Equal("1500 bytes", RequestBodyLimits.Describe(1500));
    }

    [Fact]
    public void Cors_is_off_by_default()
    {
        var options = new GatewayCorsOptions();

        Assert.False(options.IsEnabled);
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Cors_with_origins_allows_exactly_them_and_exposes_the_gateway_headers()
    {
        var policy = new GatewayCorsOptions { AllowedOrigins = ["https://app.example.com"], AllowCredentials = true }.BuildPolicy();

        Assert.Equal(["https://app.example.com"], policy.Origins);
        Assert.True(policy.SupportsCredentials);
        Assert.Contains("X-RateLimit-Remaining", policy.ExposedHeaders);
        Assert.Contains("X-Correlation-ID", policy.ExposedHeaders);
    }

    [Theory]
    [InlineData(new[] { "*" }, true, "AllowCredentials cannot be true")]
    [InlineData(new[] { "*", "https://a.example" }, false, "mixes")]
    [InlineData(new[] { "https://a.example/" }, false, "is not an origin")]
    [InlineData(new[] { "https://a.example/app" }, false, "is not an origin")]
    [InlineData(new[] { "a.example" }, false, "is not an origin")]
    public void Bad_cors_configuration_fails_at_start(string[] origins, bool credentials, string message)
    {
        var errors = new GatewayCorsOptions { AllowedOrigins = origins, AllowCredentials = credentials }.Validate();

        Assert.Contains(errors, error => error.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_wildcard_never_allows_credentials()
    {
        var policy = new GatewayCorsOptions { AllowedOrigins = ["*"] }.BuildPolicy();

        Assert.True(policy.AllowAnyOrigin);
        Assert.False(policy.SupportsCredentials);
    }

    [Fact]
    public void Header_values_for_small_numbers_are_cached()
    {
        Assert.Same(SmartHub.Gateway.RateLimiting.HeaderNumbers.Format(7L), SmartHub.Gateway.RateLimiting.HeaderNumbers.Format(7L));
        Assert.Equal("5000", SmartHub.Gateway.RateLimiting.HeaderNumbers.Format(5000L));
        Assert.Equal("0.5", SmartHub.Gateway.RateLimiting.HeaderNumbers.Format(0.5));
        Assert.Equal("10", SmartHub.Gateway.RateLimiting.HeaderNumbers.Format(10.0));
        _ = StringValues.Empty;
    }
}
