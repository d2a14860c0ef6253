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
    /// The check the default "SmartHub" scheme applies: ApiKey for <c>Authorization: Bearer shk_…</c>, or for an
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

/// <summary>Options of the default "SmartHub" scheme; the settings live in <see cref="SmartHubAuthenticationOptions"/>.</summary>
public sealed class SmartHubSchemeOptions : AuthenticationSchemeOptions;

/// <summary>
/// <c>Authorization: Bearer &lt;JWT&gt;</c>: validated by <see cref="SmartHubTokenValidator"/>, then checked against
/// the user's and the session's revocation markers. Failures answer 401 with <c>WWW-Authenticate: Bearer
/// error="invalid_token"</c> (503 when the signing keys cannot be obtained). Shared by the "Bearer" and "SmartHub" schemes.
/// </summary>
public sealed class JwtAuthenticator(SmartHubTokenValidator validator, RevocationCache revocations, ILogger<JwtAuthenticator> logger)
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

    public async Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string scheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        var span = CredentialReader.BearerToken(context.Request);
        if (span.IsEmpty || span.StartsWith(SmartHubAuth.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        var outcome = await validator.ValidateAsync(span.ToString(), context.RequestAborted);
        if (!outcome.IsValid)
        {
            if (outcome.Status == TokenValidationStatus.Unavailable)
            {
                logger.LogWarning("Access token not checked: {Reason}", outcome.Reason);
                return AuthenticateResult.Fail(new SmartHubAuthenticationException(
                    AuthenticationFailureKind.Unavailable, "Access tokens cannot be verified right now (signing keys unavailable)."));
            }

            logger.LogDebug("Access token rejected: {Reason}", outcome.Reason);
            return s_failures.GetValueOrDefault(outcome.Status) ?? s_failures[TokenValidationStatus.Invalid];
        }

        if (await revocations.IsRevokedAsync(outcome.Subject!, outcome.SessionId, outcome.IssuedAt, context.RequestAborted))
        {
            return s_revoked;
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(outcome.Identity!), scheme));
    }
}

/// <summary>
/// API keys (<c>Authorization: Bearer shk_…</c> or <c>X-API-Key</c>), verified by <see cref="ApiKeyVerifier"/>. The
/// cache-hit path hashes the key on the stack and returns a result built once per key: no allocation of its own.
/// Shared by the "ApiKey" and "SmartHub" schemes.
/// </summary>
public sealed class ApiKeyAuthenticator(ApiKeyVerifier verifier, TimeProvider timeProvider, ILogger<ApiKeyAuthenticator> logger)
{
    private static readonly Task<AuthenticateResult> s_noResult = Task.FromResult(AuthenticateResult.NoResult());

    private static readonly Task<AuthenticateResult> s_invalid = Task.FromResult(AuthenticateResult.Fail(
        new SmartHubAuthenticationException(AuthenticationFailureKind.InvalidApiKey, "The API key is invalid or revoked.")));

    private static readonly Task<AuthenticateResult> s_expired = Task.FromResult(AuthenticateResult.Fail(
        new SmartHubAuthenticationException(AuthenticationFailureKind.InvalidApiKey, "The API key has expired.")));

    public Task<AuthenticateResult> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = CredentialReader.ApiKey(context.Request);
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
            : VerifyAsync(hash, key.ToString(), context.RequestAborted);
    }

    private async Task<AuthenticateResult> VerifyAsync(ApiKeyHash hash, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await Evaluate(await verifier.VerifyAsync(hash, key, cancellationToken));
        }
        catch (SmartHubAuthenticationException ex)
        {
            logger.LogWarning("API key not checked: {Reason}", ex.Message);
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

/// <summary>401 and 403 answered the SmartHub way (ProblemDetails, <c>WWW-Authenticate</c>) by every SmartHub scheme.</summary>
public abstract class SmartHubHandlerBase<TOptions>(IOptionsMonitor<TOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<TOptions>(options, logger, encoder)
    where TOptions : AuthenticationSchemeOptions, new()
{
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await AuthenticationResponses.WriteChallengeAsync(Context, result.Failure);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        AuthenticationResponses.WriteForbiddenAsync(Context);
}

/// <summary>
/// The default scheme: an API key (<c>Authorization: Bearer shk_…</c>, or <c>X-API-Key</c> when Authorization carries
/// no bearer token) or else a JWT, decided by <see cref="CredentialReader.SelectScheme"/> and checked in place. (A
/// policy scheme forwarding to "ApiKey"/"Bearer" did the same with a second handler, a second authentication pass and
/// a second result per request; measured at the gateway that was a fifth of the cost of authentication.)
/// </summary>
public sealed class SmartHubAuthenticationHandler(
    IOptionsMonitor<SmartHubSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    SmartHubAuthenticator authenticator) : SmartHubHandlerBase<SmartHubSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => authenticator.AuthenticateAsync(Context);
}

/// <summary>The "Bearer" scheme alone (JWT access tokens), for endpoints that name it.</summary>
public sealed class JwtBearerAuthenticationHandler(
    IOptionsMonitor<JwtBearerSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    JwtAuthenticator jwt) : SmartHubHandlerBase<JwtBearerSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => jwt.AuthenticateAsync(Context, Scheme.Name);
}

/// <summary>The "ApiKey" scheme alone, for endpoints that name it.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeySchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator apiKeys) : SmartHubHandlerBase<ApiKeySchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => apiKeys.AuthenticateAsync(Context);
}
