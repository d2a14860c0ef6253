using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Signing;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Tokens;

/// <summary>Who an access token is for.</summary>
public sealed record TokenSubject(
    Guid UserId,
    string Email,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions,
    DateTimeOffset? SessionsRevokedAt = null,
    Guid? SessionId = null);

public sealed record IssuedAccessToken(string Token, string TokenId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Builds ES256 access tokens: sub, email, role[], permission[], jti, sid (the session: its refresh-token family, so a
/// logout ends the session's access tokens too), amr ["pwd"], iat/nbf/exp, iss, aud; kid in the header.
/// </summary>
public static class AccessTokenFactory
{
    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static IssuedAccessToken Create(
        SigningCredentials credentials, TokenSubject subject, string issuer, string audience, DateTimeOffset now, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(subject);

        var issuedAt = now.ToUnixTimeSeconds();
        var iat = DateTimeOffset.FromUnixTimeSeconds(issuedAt);
        var expires = iat + lifetime;
        var tokenId = Guid.NewGuid().ToString("N");
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [SmartHubClaims.Subject] = subject.UserId.ToString(),
            [SmartHubClaims.Email] = subject.Email,
            [SmartHubClaims.Role] = subject.Roles.ToArray(),
            [SmartHubClaims.Permission] = subject.Permissions.ToArray(),
            [SmartHubClaims.TokenId] = tokenId,
            [SmartHubClaims.AuthenticationMethod] = new[] { SmartHubClaims.PasswordMethod },
        };
        if (subject.SessionId is { } sessionId)
        {
            claims[SmartHubClaims.SessionId] = sessionId.ToString();
        }

        var token = s_handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = iat.UtcDateTime,
            NotBefore = iat.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = credentials,
            Claims = claims,
        });

        return new IssuedAccessToken(token, tokenId, iat, expires);
    }
}

/// <summary>Signs access tokens with the active key of the <see cref="SigningKeyStore"/>.</summary>
public sealed class AccessTokenIssuer(SigningKeyStore keys, IOptions<AuthOptions> options, TimeProvider timeProvider)
{
    /// <remarks>
    /// Revocation compares whole seconds: a token is rejected when <c>auth:user-revoked:{sub}</c> ≥ its iat. A token
    /// issued in the same second as the user's last revocation (a login right after a role change) would be born
    /// revoked, so issuance waits for the next second (at most 1 s, only in that case). Moving iat forward instead
    /// would let the token survive a second revocation within that same second.
    /// </remarks>
    public async Task<IssuedAccessToken> IssueAsync(TokenSubject subject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var settings = options.Value;
        var credentials = await keys.GetSigningCredentialsAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        // A loop, not one delay: timers run on the monotonic clock, and a wall clock being slewed (NTP in a VM) can still
        // read the revocation's second when the delay ends, which would issue a token born revoked.
        while (subject.SessionsRevokedAt is { } revoked && revoked.ToUnixTimeSeconds() >= now.ToUnixTimeSeconds())
        {
            var nextSecond = DateTimeOffset.FromUnixTimeSeconds(revoked.ToUnixTimeSeconds() + 1);
            var wait = nextSecond - now;
            await Task.Delay((wait > TimeSpan.Zero ? wait : TimeSpan.Zero) + TimeSpan.FromMilliseconds(5), timeProvider, cancellationToken);
            now = timeProvider.GetUtcNow();
        }

        return AccessTokenFactory.Create(credentials, subject, settings.Issuer, settings.Audience, now, settings.AccessTokenLifetime);
    }
}
