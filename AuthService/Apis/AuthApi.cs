using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.AuthService.Admin;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Passwords;
using SmartHub.AuthService.Revocation;
using SmartHub.AuthService.Tokens;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

public sealed record RegisterRequest(string? Email, string? Password, string? DisplayName);

/// <summary>The same for a new account and an existing email: registration does not reveal which emails exist.</summary>
public sealed record RegisterResponse(string Email, string Status);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

public sealed record TokenResponse(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType);

public sealed record MeResponse(
    Guid Id,
    string Email,
    string? DisplayName,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions,
    string AuthenticationMethod,
    Guid? ApiKeyId,
    IReadOnlyList<string>? Scopes,
    DateTimeOffset CreatedAt);

/// <summary>Accounts and sessions: register, login, refresh, logout, me.</summary>
public static class AuthApi
{
    private const string InvalidCredentialsDetail = "Invalid email or password.";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/auth").WithTags("Accounts");

        auth.MapPost("/register", RegisterAsync)
            .WithName("Register")
            .WithSummary("Create an account (role user). Answers 201 with the same body whether or not the email was already taken.");

        auth.MapPost("/login", LoginAsync)
            .WithName("Login")
            .WithSummary("Exchange email and password for an access token (15 min) and a refresh token. 5 failures lock the account for 15 min.");

        auth.MapPost("/refresh", RefreshAsync)
            .WithName("Refresh")
            .WithSummary("Rotate a refresh token: new access and refresh tokens. A reused refresh token revokes its whole family.");

        auth.MapPost("/logout", LogoutAsync)
            .RequireAuthorization()
            .WithName("Logout")
            .WithSummary("End the session: its refresh tokens and access tokens (the current one's, and the body's {refreshToken} if given).");

        auth.MapPost("/password", ChangePasswordAsync)
            .RequireAuthorization()
            .WithName("ChangePassword")
            .WithSummary("Change the caller's password (access token only, not an API key). Ends every session of the account and answers with a new one; API keys keep working.");

        auth.MapGet("/me", GetMeAsync)
            .RequireAuthorization()
            .WithName("GetMe")
            .WithSummary("The caller: id, email, roles and the permissions of the credential used.");

        return app;
    }

    public static async Task<Results<Created<RegisterResponse>, ValidationProblem>> RegisterAsync(
        RegisterRequest? request,
        UserStore users,
        PasswordHashing passwords,
        HttpContext httpContext,
        ILogger<RegisterRequest> logger,
        CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return AuthProblems.Invalid("body", "A JSON body {email, password, displayName?} is required.");
        }

        var email = Credentials.NormalizeEmail(request.Email ?? "");
        var errors = new Dictionary<string, string[]>();
        AddError(errors, "email", Credentials.ValidateEmail(email));
        AddError(errors, "password", Credentials.ValidatePassword(request.Password));
        AddError(errors, "displayName", Credentials.ValidateDisplayName(request.DisplayName));
        if (errors.Count > 0)
        {
            return AuthProblems.Invalid(errors);
        }

        // Hash first, whatever happens next: an existing email costs the same time as a new one.
        var hash = await passwords.HashAsync(request.Password!, cancellationToken);
        var displayName = string.IsNullOrWhiteSpace(request.DisplayName) ? null : request.DisplayName.Trim();
        var created = await users.RegisterAsync(email, displayName, hash, AuditContext.From(httpContext), cancellationToken);
        if (!created)
        {
            // In production the owner would get an e-mail ("someone tried to register with your address").
            logger.LogInformation("Registration for an existing email answered like a new one");
        }

        return TypedResults.Created("/auth/me", new RegisterResponse(email, "registered"));
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> LoginAsync(
        LoginRequest? request,
        UserStore users,
        PasswordHashing passwords,
        RefreshTokenStore refreshTokens,
        AccessTokenIssuer issuer,
        AuditLog audit,
        IOptions<AuthOptions> options,
        TimeProvider timeProvider,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (request is null || string.IsNullOrEmpty(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            return AuthProblems.Invalid("credentials", "A JSON body {email, password} is required.");
        }

        if (request.Password.Length > Credentials.MaxPasswordLength || request.Email.Length > Credentials.MaxEmailLength + 64)
        {
            return AuthProblems.Invalid("credentials", "The email or password is too long.");
        }

        var settings = options.Value;
        var email = Credentials.NormalizeEmail(request.Email);
        var context = AuditContext.From(httpContext);
        var user = await users.FindByEmailAsync(email, cancellationToken);
        if (user is null)
        {
            // The same PBKDF2 work as a real check, so the answer time does not reveal unknown emails.
            await passwords.SimulateAsync(request.Password, cancellationToken);
            await audit.WriteAsync(AuditTypes.LoginFailed, context, null, new { email, reason = "unknown_email" }, cancellationToken);
            return InvalidCredentials();
        }

        var verification = await passwords.VerifyAsync(request.Password, user.PasswordHash, cancellationToken);
        var now = timeProvider.GetUtcNow();
        if (user.IsDisabled || user.LockedUntil > now)
        {
            // Locked or disabled: the same answer as a wrong password; only the audit log tells.
            await audit.WriteAsync(AuditTypes.LoginFailed, context, user.Id,
                new { email, reason = user.IsDisabled ? "disabled" : "locked", lockedUntil = user.LockedUntil }, cancellationToken);
            return InvalidCredentials();
        }

        if (verification == PasswordVerification.Failed)
        {
            await RecordWrongPasswordAsync(users, audit, settings, user, context, "wrong_password", now, cancellationToken);
            return InvalidCredentials();
        }

        var newHash = verification == PasswordVerification.SuccessRehashNeeded
            ? await passwords.HashAsync(request.Password, cancellationToken)
            : null;
        await users.RecordSuccessfulLoginAsync(user.Id, newHash, cancellationToken);

        var session = await refreshTokens.IssueAsync(user.Id, cancellationToken);
        var access = await issuer.IssueAsync(
            new TokenSubject(user.Id, user.Email, user.Roles, user.Permissions, user.SessionsRevokedAt, session.SessionId), cancellationToken);
        await audit.WriteAsync(AuditTypes.LoginSucceeded, context with { ActorId = user.Id }, user.Id,
            new { email, tokenId = access.TokenId, sessionId = session.SessionId, rehashed = newHash is not null }, cancellationToken);

        return Tokens(httpContext, access, session.RefreshToken, now);
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> RefreshAsync(
        RefreshRequest? request,
        RefreshTokenStore refreshTokens,
        AccessTokenIssuer issuer,
        RevocationPublisher revocations,
        TimeProvider timeProvider,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request?.RefreshToken))
        {
            return AuthProblems.Invalid("refreshToken", "A JSON body {refreshToken} is required.");
        }

        var result = await refreshTokens.RotateAsync(request.RefreshToken, AuditContext.From(httpContext), cancellationToken);
        if (result is { Status: RefreshStatus.ReuseDetected, SessionId: { } stolen })
        {
            // A copy of the refresh token is in someone else's hands: the session's access tokens end too, not only
            // its refresh tokens.
            await revocations.SessionRevokedAsync(stolen, timeProvider.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);
        }

        if (result.Status != RefreshStatus.Rotated)
        {
            return AuthProblems.Problem(StatusCodes.Status401Unauthorized, AuthProblems.InvalidRefreshToken, "Invalid refresh token",
                "The refresh token is invalid, expired or revoked; sign in again.");
        }

        var user = result.User!;
        var access = await issuer.IssueAsync(
            new TokenSubject(user.Id, user.Email, user.Roles, user.Permissions, user.SessionsRevokedAt, result.SessionId), cancellationToken);
        return Tokens(httpContext, access, result.RefreshToken!, timeProvider.GetUtcNow());
    }

    /// <summary>
    /// Ends the caller's session: the session of the access token used (its <c>sid</c>), and the session of the
    /// refresh token in the body if one is given. Its refresh tokens are revoked in authdb and its access tokens stop
    /// working at every gateway and service within ~2 s (a <c>auth:session-revoked:{sid}</c> marker and a revocation
    /// message). Idempotent; unknown or foreign refresh tokens are ignored and reveal nothing about other sessions.
    /// </summary>
    public static async Task<Results<NoContent, ValidationProblem>> LogoutAsync(
        RefreshRequest? request,
        ClaimsPrincipal principal,
        RefreshTokenStore refreshTokens,
        RevocationPublisher revocations,
        AuditLog audit,
        TimeProvider timeProvider,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var sessions = new HashSet<Guid>();
        if (Guid.TryParse(principal.FindFirstValue(SmartHubClaims.SessionId), out var current))
        {
            await refreshTokens.RevokeSessionAsync(current, userId, cancellationToken);
            sessions.Add(current);
        }

        if (!string.IsNullOrEmpty(request?.RefreshToken)
            && await refreshTokens.RevokeFamilyOfAsync(request.RefreshToken, userId, cancellationToken) is { } other)
        {
            sessions.Add(other);
        }

        if (sessions.Count == 0 && string.IsNullOrEmpty(request?.RefreshToken))
        {
            // An API key (or a token from before sessions) names no session: say which one to end.
            return AuthProblems.Invalid("refreshToken", "This credential has no session; send {refreshToken} to end one.");
        }

        var now = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        foreach (var session in sessions)
        {
            await revocations.SessionRevokedAsync(session, now, cancellationToken);
        }

        await audit.WriteAsync(AuditTypes.Logout, AuditContext.From(httpContext, userId), userId, new { sessions }, cancellationToken);

        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> ChangePasswordAsync(
        ChangePasswordRequest? request,
        ClaimsPrincipal principal,
        UserStore users,
        PasswordHashing passwords,
        UserAdministration administration,
        RefreshTokenStore refreshTokens,
        AccessTokenIssuer issuer,
        AuditLog audit,
        IOptions<AuthOptions> options,
        TimeProvider timeProvider,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (principal.IsApiKey())
        {
            return AuthProblems.Problem(StatusCodes.Status403Forbidden, SmartHubProblemTypes.Forbidden, "Forbidden",
                "A password can be changed with an access token from a login, not with an API key.");
        }

        if (request is null || string.IsNullOrEmpty(request.CurrentPassword) || request.CurrentPassword.Length > Credentials.MaxPasswordLength)
        {
            return AuthProblems.Invalid("currentPassword", "A JSON body {currentPassword, newPassword} is required.");
        }

        if (Credentials.ValidatePassword(request.NewPassword) is { } invalid)
        {
            return AuthProblems.Invalid("newPassword", invalid);
        }

        if (string.Equals(request.CurrentPassword, request.NewPassword, StringComparison.Ordinal))
        {
            return AuthProblems.Invalid("newPassword", "The new password must differ from the current one.");
        }

        var context = AuditContext.From(httpContext, principal.UserId());
        var user = await users.FindByIdAsync(principal.UserId(), cancellationToken);
        if (user is null || user.IsDisabled)
        {
            return AuthProblems.Problem(StatusCodes.Status401Unauthorized, SmartHubProblemTypes.Unauthenticated, "Unauthorized", "Sign in again.");
        }

        var settings = options.Value;
        var verification = await passwords.VerifyAsync(request.CurrentPassword, user.PasswordHash, cancellationToken);
        var now = timeProvider.GetUtcNow();
        if (verification == PasswordVerification.Failed)
        {
            // Counts toward the lockout like a failed login: a stolen access token must not be a password oracle.
            await RecordWrongPasswordAsync(users, audit, settings, user, context, "password_change_wrong_password", now, cancellationToken);
            return AuthProblems.Invalid("currentPassword", "The current password is wrong.");
        }

        if (user.LockedUntil > now)
        {
            // Locked: the same answer as a wrong password; only the audit log tells.
            await audit.WriteAsync(AuditTypes.LoginFailed, context, user.Id,
                new { email = user.Email, reason = "password_change_locked", lockedUntil = user.LockedUntil }, cancellationToken);
            return AuthProblems.Invalid("currentPassword", "The current password is wrong.");
        }

        var newHash = await passwords.HashAsync(request.NewPassword!, cancellationToken);
        var revokedAt = await administration.ChangePasswordAsync(user.Id, newHash, context, cancellationToken);

        var session = await refreshTokens.IssueAsync(user.Id, cancellationToken);
        var access = await issuer.IssueAsync(
            new TokenSubject(user.Id, user.Email, user.Roles, user.Permissions, revokedAt, session.SessionId), cancellationToken);
        return Tokens(httpContext, access, session.RefreshToken, timeProvider.GetUtcNow());
    }

    public static async Task<Results<Ok<MeResponse>, ProblemHttpResult>> GetMeAsync(
        ClaimsPrincipal principal,
        UserStore users,
        CancellationToken cancellationToken)
    {
        var id = principal.UserId();
        var user = await users.FindByIdAsync(id, cancellationToken);
        if (user is null)
        {
            return AuthProblems.UserNotFound(id);
        }

        var isApiKey = principal.IsApiKey();
        return TypedResults.Ok(new MeResponse(
            user.Id,
            user.Email,
            user.DisplayName,
            user.Roles,
            principal.Permissions(),
            isApiKey ? SmartHubClaims.ApiKeyMethod : SmartHubClaims.PasswordMethod,
            isApiKey && Guid.TryParse(principal.FindFirst(SmartHubClaims.ApiKeyId)?.Value, out var keyId) ? keyId : null,
            isApiKey ? [.. principal.FindAll(SmartHubClaims.Scope).Select(c => c.Value)] : null,
            user.CreatedAt));
    }

    /// <summary>A wrong password for a known account: counts toward the lockout and is audited (and the lockout too, when it starts).</summary>
    private static async Task RecordWrongPasswordAsync(
        UserStore users, AuditLog audit, AuthOptions settings, UserRecord user, AuditContext context, string reason, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var lockedNow = await users.RecordFailedLoginAsync(user.Id, settings.LockoutThreshold, settings.LockoutDuration, cancellationToken);
        await audit.WriteAsync(AuditTypes.LoginFailed, context, user.Id, new { email = user.Email, reason }, cancellationToken);
        if (lockedNow)
        {
            await audit.WriteAsync(AuditTypes.LoginLocked, context, user.Id,
                new { email = user.Email, lockedUntil = now + settings.LockoutDuration, failures = settings.LockoutThreshold }, cancellationToken);
        }
    }

    private static Ok<TokenResponse> Tokens(HttpContext httpContext, IssuedAccessToken access, string refreshToken, DateTimeOffset now)
    {
        httpContext.Response.Headers.CacheControl = "no-store";
        httpContext.Response.Headers.Pragma = "no-cache";
        var expiresIn = (int)Math.Round((access.ExpiresAt - now).TotalSeconds);
        return TypedResults.Ok(new TokenResponse(access.Token, refreshToken, expiresIn, "Bearer"));
    }

    private static ProblemHttpResult InvalidCredentials() =>
        AuthProblems.Problem(StatusCodes.Status401Unauthorized, AuthProblems.InvalidCredentials, "Invalid credentials", InvalidCredentialsDetail);

    private static void AddError(Dictionary<string, string[]> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors[field] = [error];
        }
    }
}
