using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SmartHub.AuthService.Tokens;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

public sealed class AccessTokenTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);
    private static readonly TokenSubject Alice = new(
        Guid.Parse("0192f1a4-0000-7000-8000-000000000001"), "alice@example.com", ["manager", "user"], ["chat:use", "monitoring:read"]);

    private readonly TestSigningKey _key = new();
    private readonly IdentityClock _clock = new(Start);
    private readonly StaticJwksProvider _jwks;
    private readonly SmartHubTokenValidator _validator;

    public AccessTokenTests()
    {
        _jwks = new StaticJwksProvider(_key.Public);
        _validator = new SmartHubTokenValidator(_jwks, Microsoft.Extensions.Options.Options.Create(new SmartHubAuthenticationOptions()), _clock);
    }

    public void Dispose() => _key.Dispose();

    private string Issue(string issuer = "smarthub", string audience = "smarthub", TestSigningKey? key = null) =>
        AccessTokenFactory.Create((key ?? _key).Credentials, Alice, issuer, audience, _clock.Now, Lifetime).Token;

    private Task<TokenValidationOutcome> ValidateAsync(string token) => _validator.ValidateAsync(token, CancellationToken.None).AsTask();

    [Fact]
    public async Task Issued_token_validates_with_every_promised_claim()
    {
        var issued = AccessTokenFactory.Create(_key.Credentials, Alice, "smarthub", "smarthub", _clock.Now, Lifetime);

        var outcome = await ValidateAsync(issued.Token);

        Assert.True(outcome.IsValid, outcome.Reason);
        var identity = outcome.Identity!;
        Assert.Equal(Alice.UserId.ToString(), outcome.Subject);
        Assert.Equal(Start.ToUnixTimeSeconds(), outcome.IssuedAt);
        Assert.Equal("alice@example.com", identity.Name);
        Assert.Equal(SmartHubAuth.BearerScheme, identity.AuthenticationType);
        Assert.Equal(["manager", "user"], identity.FindAll("role").Select(c => c.Value));
        Assert.Equal(["chat:use", "monitoring:read"], identity.FindAll("permission").Select(c => c.Value));
        Assert.Equal("pwd", identity.FindFirst("amr")?.Value);
        Assert.Equal(issued.TokenId, identity.FindFirst("jti")?.Value);
        Assert.True(new System.Security.Claims.ClaimsPrincipal(identity).IsInRole("manager"));

        var jwt = new JsonWebToken(issued.Token);
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal(_key.Kid, jwt.Kid);
        Assert.Equal(Lifetime, jwt.ValidTo - jwt.IssuedAt);
        Assert.Equal("smarthub", jwt.Issuer);
        Assert.Equal(["smarthub"], jwt.Audiences);
    }

    [Fact]
    public async Task Tampered_payload_is_rejected()
    {
        var parts = Issue().Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["permission"] = new JsonArray("users:manage");
        var forged = $"{parts[0]}.{Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";

        Assert.Equal(TokenValidationStatus.BadSignature, (await ValidateAsync(forged)).Status);
    }

    [Fact]
    public async Task Alg_none_is_rejected()
    {
        var parts = Issue().Split('.');
        var header = Base64UrlEncoder.Encode($$"""{"alg":"none","kid":"{{_key.Kid}}","typ":"JWT"}""");

        Assert.Equal(TokenValidationStatus.UnsupportedAlgorithm, (await ValidateAsync($"{header}.{parts[1]}.")).Status);
        Assert.Equal(TokenValidationStatus.UnsupportedAlgorithm, (await ValidateAsync($"{header}.{parts[1]}.{parts[2]}")).Status);
        Assert.Equal(0, _jwks.Lookups);
    }

    [Fact]
    public async Task Hs256_signed_with_the_public_key_as_secret_is_rejected()
    {
        var parts = Issue().Split('.');
        var header = Base64UrlEncoder.Encode($$"""{"alg":"HS256","kid":"{{_key.Kid}}","typ":"JWT"}""");
        var signingInput = $"{header}.{parts[1]}";
        var publicJwk = System.Text.Json.JsonSerializer.Serialize(_key.Jwk, AuthJsonContext.Default.EcPublicJwk);
        foreach (var secret in new[] { Encoding.UTF8.GetBytes(publicJwk), _key.Ecdsa.ExportSubjectPublicKeyInfo() })
        {
            var signature = Base64UrlEncoder.Encode(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));

            Assert.Equal(TokenValidationStatus.UnsupportedAlgorithm, (await ValidateAsync($"{signingInput}.{signature}")).Status);
        }
    }

    [Fact]
    public async Task Token_signed_with_another_key_under_a_known_kid_is_rejected()
    {
        using var attacker = new TestSigningKey();
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "smarthub",
            Audience = "smarthub",
            Claims = new Dictionary<string, object> { ["sub"] = Alice.UserId.ToString(), ["iat"] = _clock.Now.ToUnixTimeSeconds() },
            IssuedAt = _clock.Now.UtcDateTime,
            Expires = _clock.Now.AddMinutes(5).UtcDateTime,
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(attacker.Ecdsa) { KeyId = _key.Kid }, SecurityAlgorithms.EcdsaSha256),
        });

        Assert.Equal(TokenValidationStatus.BadSignature, (await ValidateAsync(forged)).Status);
    }

    [Fact]
    public async Task Unknown_kid_is_rejected()
    {
        using var other = new TestSigningKey();

        Assert.Equal(TokenValidationStatus.UnknownKey, (await ValidateAsync(Issue(key: other))).Status);
    }

    [Fact]
    public async Task Token_without_kid_is_rejected()
    {
        var withoutKid = new SigningCredentials(new ECDsaSecurityKey(_key.Ecdsa), SecurityAlgorithms.EcdsaSha256);
        var token = AccessTokenFactory.Create(withoutKid, Alice, "smarthub", "smarthub", _clock.Now, Lifetime).Token;

        Assert.Equal(TokenValidationStatus.MissingKeyId, (await ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task Expired_token_is_rejected_after_the_clock_skew()
    {
        var token = Issue();

        _clock.Advance(Lifetime + TimeSpan.FromSeconds(25));
        Assert.True((await ValidateAsync(token)).IsValid, "within the 30 s skew");

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TokenValidationStatus.Expired, (await ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task A_validated_token_is_remembered_but_its_expiry_still_holds()
    {
        var token = Issue();
        Assert.True((await ValidateAsync(token)).IsValid);
        var lookups = _jwks.Lookups;

        Assert.True((await ValidateAsync(token)).IsValid);
        Assert.Equal(lookups, _jwks.Lookups); // no key lookup, no signature check

        _clock.Advance(Lifetime + TimeSpan.FromSeconds(31));
        Assert.Equal(TokenValidationStatus.Expired, (await ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task Rejected_tokens_are_not_remembered()
    {
        _jwks.Unavailable = true;
        var token = Issue();
        Assert.Equal(TokenValidationStatus.Unavailable, (await ValidateAsync(token)).Status);

        _jwks.Unavailable = false;

        Assert.True((await ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task Token_from_the_future_is_rejected()
    {
        var token = Issue();
        _clock.Advance(TimeSpan.FromMinutes(-5));

        Assert.Equal(TokenValidationStatus.NotYetValid, (await ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task Wrong_issuer_or_audience_is_rejected()
    {
        Assert.Equal(TokenValidationStatus.WrongIssuer, (await ValidateAsync(Issue(issuer: "someone-else"))).Status);
        Assert.Equal(TokenValidationStatus.WrongAudience, (await ValidateAsync(Issue(audience: "another-app"))).Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9..")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.e30.e30.e30")]
    public async Task Malformed_tokens_are_rejected_without_looking_up_keys(string token)
    {
        var outcome = await ValidateAsync(token);

        Assert.False(outcome.IsValid);
        Assert.NotEqual(TokenValidationStatus.Unavailable, outcome.Status);
    }

    [Fact]
    public async Task Unreachable_jwks_is_reported_as_unavailable_not_as_a_bad_token()
    {
        _jwks.Unavailable = true;

        Assert.Equal(TokenValidationStatus.Unavailable, (await ValidateAsync(Issue())).Status);
    }

    [Fact]
    public void Jwk_round_trip_keeps_the_public_key_and_kid()
    {
        var rebuilt = EcJwk.ToSecurityKey(_key.Jwk)!;

        Assert.Equal(_key.Kid, rebuilt.KeyId);
        Assert.Equal(_key.Ecdsa.ExportSubjectPublicKeyInfo(), rebuilt.ECDsa.ExportSubjectPublicKeyInfo());
        Assert.Null(EcJwk.ToSecurityKey(_key.Jwk with { Alg = "HS256" }));
        Assert.Null(EcJwk.ToSecurityKey(_key.Jwk with { Crv = "P-384" }));
        Assert.Null(EcJwk.ToSecurityKey(_key.Jwk with { Kid = null }));
        Assert.Null(EcJwk.ToSecurityKey(_key.Jwk with { X = _key.Jwk.Y, Y = _key.Jwk.X })); // not on the curve
    }
}
