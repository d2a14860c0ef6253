using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>Options of the "Bearer" (JWT) scheme; the settings live in <see cref="SmartHubAuthenticationOptions"/>.</summary>
public sealed class JwtBearerSchemeOptions : AuthenticationSchemeOptions;

/// <summary>Options of the "ApiKey" scheme; the settings live in <see cref="SmartHubAuthenticationOptions"/>.</summary>
public sealed class ApiKeySchemeOptions : AuthenticationSchemeOptions;

/// <summary>Reads credentials from a request without allocating.</summary>
public static class CredentialReader
{
    /// <summary>The token after <c>Bearer </c> in the Authorization header, or empty.</summary>
    public static ReadOnlySpan<char> BearerToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var values = request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } value
            || value.Length <= 7 || !value.AsSpan(0, 7).Equals("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return default;
        }

        return value.AsSpan(7).Trim();
    }

    /// <summary>An API key from <c>Authorization: Bearer shk_…</c>, else from <c>X-API-Key</c>, or empty.</summary>
    public static ReadOnlySpan<char> ApiKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var bearer = BearerToken(request);
        if (bearer.StartsWith(SmartHubAuth.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return bearer;
        }

        if (!bearer.IsEmpty)
        {
            return default; // Authorization carries a JWT: that decides, not X-API-Key
        }

        var values = request.Headers[SmartHubAuth.ApiKeyHeader];
        return values.Count == 1 && values[0] is { } key ? key.AsSpan().Trim() : default;
    }

    /// <summary>
    /// The scheme the "SmartHub" policy scheme forwards to: ApiKey for <c>Authorization: Bearer shk_…</c>, or for an
    /// <c>X-API-Key</c> header when Authorization carries no bearer token; Bearer (JWT) otherwise.
    /// </summary>
    public static string SelectScheme(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var bearer = BearerToken(context.Request);
        if (bearer.StartsWith(SmartHubAuth.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return SmartHubAuth.ApiKeyScheme;
        }

        return bearer.IsEmpty && context.Request.Headers.ContainsKey(SmartHubAuth.ApiKeyHeader)
            ? SmartHubAuth.ApiKeyScheme
            : SmartHubAuth.BearerScheme;
    }
}

/// <summary>
/// <c>Authorization: Bearer &lt;JWT&gt;</c>: validated by <see cref="SmartHubTokenValidator"/>, then checked against
/// the user's revocation time. Failures answer 401 with <c>WWW-Authenticate: Bearer error="invalid_token"</c> (503 when
/// the signing keys cannot be obtained).
/// </summary>
public sealed class JwtBearerAuthenticationHandler(
    IOptionsMonitor<JwtBearerSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    SmartHubTokenValidator validator,
    RevocationCache revocations) : AuthenticationHandler<JwtBearerSchemeOptions>(options, logger, encoder)
{
    private static readonly AuthenticateResult s_revoked = AuthenticateResult.Fail(
        new SmartHubAuthenticationException(AuthenticationFailureKind.Revoked, "The access token was revoked; sign in again."));

    private static readonly Dictionary<TokenValidationStatus, AuthenticateResult> s_failures =
        new TokenValidationOutcome[]
        {
            TokenValidationOutcome.Malformed, TokenValidationOutcome.UnsupportedAlgorithm, TokenValidationOutcome.MissingKeyId,
            TokenValidationOutcome.UnknownKey, TokenValidationOutcome.BadSignature, TokenValidationOutcome.Expired,
            TokenValidationOutcome.NotYetValid, TokenValidationOutcome.WrongIssuer, TokenValidationOutcome.WrongAudience,
            TokenValidationOutcome.MissingClaims, TokenValidationOutcome.Invalid,
        }.ToDictionary(
            outcome => outcome.Status,
            outcome => AuthenticateResult.Fail(new SmartHubAuthenticationException(AuthenticationFailureKind.InvalidToken, outcome.Reason!)));

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var span = CredentialReader.BearerToken(Request);
        if (span.IsEmpty || span.StartsWith(SmartHubAuth.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        var outcome = await validator.ValidateAsync(span.ToString(), Context.RequestAborted);
        if (!outcome.IsValid)
        {
            if (outcome.Status == TokenValidationStatus.Unavailable)
            {
                Logger.LogWarning("Access token not checked: {Reason}", outcome.Reason);
                return AuthenticateResult.Fail(new SmartHubAuthenticationException(
                    AuthenticationFailureKind.Unavailable, "Access tokens cannot be verified right now (signing keys unavailable)."));
            }

            Logger.LogDebug("Access token rejected: {Reason}", outcome.Reason);
            return s_failures.GetValueOrDefault(outcome.Status) ?? s_failures[TokenValidationStatus.Invalid];
        }

        if (await revocations.IsRevokedAsync(outcome.Subject!, outcome.SessionId, outcome.IssuedAt, Context.RequestAborted))
        {
            return s_revoked;
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(outcome.Identity!), Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await AuthenticationResponses.WriteChallengeAsync(Context, result.Failure);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        AuthenticationResponses.WriteForbiddenAsync(Context);
}

/// <summary>
/// API keys (<c>Authorization: Bearer shk_…</c> or <c>X-API-Key</c>), verified by <see cref="ApiKeyVerifier"/>. The
/// cache-hit path hashes the key on the stack and returns a result built once per key: no allocation of its own.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeySchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyVerifier verifier,
    TimeProvider timeProvider) : AuthenticationHandler<ApiKeySchemeOptions>(options, logger, encoder)
{
    private static readonly Task<AuthenticateResult> s_noResult = Task.FromResult(AuthenticateResult.NoResult());

    private static readonly Task<AuthenticateResult> s_invalid = Task.FromResult(AuthenticateResult.Fail(
        new SmartHubAuthenticationException(AuthenticationFailureKind.InvalidApiKey, "The API key is invalid or revoked.")));

    private static readonly Task<AuthenticateResult> s_expired = Task.FromResult(AuthenticateResult.Fail(
        new SmartHubAuthenticationException(AuthenticationFailureKind.InvalidApiKey, "The API key has expired.")));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = CredentialReader.ApiKey(Request);
        if (key.IsEmpty)
        {
            return s_noResult;
        }

        if (!ApiKeyFormat.IsWellFormed(key))
        {
            return s_invalid;
        }

        var hash = ApiKeyFormat.Hash(key);
        return verifier.TryGetCached(hash, out var lookup)
            ? Evaluate(lookup)
            : VerifyAsync(hash, key.ToString());
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await AuthenticationResponses.WriteChallengeAsync(Context, result.Failure);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        AuthenticationResponses.WriteForbiddenAsync(Context);

    private async Task<AuthenticateResult> VerifyAsync(ApiKeyHash hash, string key)
    {
        try
        {
            return await Evaluate(await verifier.VerifyAsync(hash, key, Context.RequestAborted));
        }
        catch (SmartHubAuthenticationException ex)
        {
            Logger.LogWarning("API key not checked: {Reason}", ex.Message);
            return AuthenticateResult.Fail(ex);
        }
    }

    private Task<AuthenticateResult> Evaluate(ApiKeyLookup lookup)
    {
        if (lookup.SuccessTask is not { } success)
        {
            return s_invalid;
        }

        return lookup.Identity!.ExpiresAt is { } expiresAt && expiresAt <= timeProvider.GetUtcNow() ? s_expired : success;
    }
}
