using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

public sealed class CredentialRulesTests
{
    [Theory]
    [InlineData("  Alice@Example.COM ", "alice@example.com")]
    [InlineData("bob@example.com", "bob@example.com")]
    public void Emails_are_trimmed_and_lower_cased(string input, string normalized)
    {
        Assert.Equal(normalized, Credentials.NormalizeEmail(input));
        Assert.Null(Credentials.ValidateEmail(normalized));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-an-email")]
    [InlineData("a b@example.com")]
    [InlineData("@example.com")]
    [InlineData("alice@")]
    [InlineData("Alice <alice@example.com>")]
    public void Invalid_emails_are_refused(string email)
    {
        Assert.NotNull(Credentials.ValidateEmail(Credentials.NormalizeEmail(email)));
    }

    [Fact]
    public void Emails_longer_than_254_are_refused()
    {
        Assert.NotNull(Credentials.ValidateEmail(new string('a', 250) + "@x.io"));
    }

    [Theory]
    [InlineData(11, false)]
    [InlineData(12, true)]
    [InlineData(1024, true)]
    [InlineData(1025, false)]
    public void Passwords_need_12_to_1024_characters(int length, bool valid)
    {
        Assert.Equal(valid, Credentials.ValidatePassword(new string('p', length)) is null);
    }

    [Theory]
    [InlineData(null, null, null, "Bearer")]
    [InlineData("Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig", null, null, "Bearer")]
    [InlineData("Bearer shk_AAAA", null, "shk_AAAA", "ApiKey")]
    [InlineData("bearer shk_AAAA", null, "shk_AAAA", "ApiKey")]
    [InlineData(null, "shk_BBBB", "shk_BBBB", "ApiKey")]
    [InlineData("Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig", "shk_BBBB", null, "Bearer")]
    [InlineData("Basic dXNlcjpwYXNz", "shk_BBBB", "shk_BBBB", "ApiKey")]
    public void The_policy_scheme_forwards_api_keys_to_ApiKey_and_other_bearers_to_Bearer(
        string? authorization, string? apiKeyHeader, string? expectedKey, string expectedScheme)
    {
        var context = new DefaultHttpContext();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        if (apiKeyHeader is not null)
        {
            context.Request.Headers[SmartHubAuth.ApiKeyHeader] = apiKeyHeader;
        }

        Assert.Equal(expectedScheme, CredentialReader.SelectScheme(context));
        Assert.Equal(expectedKey ?? "", CredentialReader.ApiKey(context.Request).ToString());
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.7, 10.0.0.1", "203.0.113.7")] // via the gateway on loopback
    [InlineData("10.1.2.3", "203.0.113.7", "203.0.113.7")]            // via the gateway in a cluster
    [InlineData("198.51.100.9", "203.0.113.7", "198.51.100.9")]       // a stranger cannot choose its IP
    [InlineData("127.0.0.1", "not an ip", "127.0.0.1")]
    [InlineData("::ffff:127.0.0.1", null, "127.0.0.1")]
    public void Audit_ip_trusts_forwarded_for_only_from_private_addresses(string remote, string? forwardedFor, string expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        Assert.Equal(IPAddress.Parse(expected), AuditContext.ClientIp(context));
    }

    [Fact]
    public void User_agent_is_truncated_to_512_characters()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.UserAgent = new string('u', 2000);

        Assert.Equal(512, AuditContext.From(context).UserAgent!.Length);
    }

    [Fact]
    public void Internal_token_is_checked_in_constant_time()
    {
        var verifier = new InternalTokenVerifier(Options.Create(new InternalOptions { Token = "internal-0123456789abcdef0123456789" }));

        Assert.True(verifier.IsValid("internal-0123456789abcdef0123456789"));
        Assert.False(verifier.IsValid("internal-0123456789abcdef012345678"));
        Assert.False(verifier.IsValid(""));
        Assert.False(verifier.IsValid(null));
        Assert.True(IlCalls.Calls(typeof(InternalTokenVerifier).GetMethod(nameof(InternalTokenVerifier.IsValid))!,
            typeof(System.Security.Cryptography.CryptographicOperations), "FixedTimeEquals"));
    }
}
