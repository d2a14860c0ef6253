using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.AuthService.Admin;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

public sealed record UserSummary(
    Guid Id,
    string Email,
    string? DisplayName,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt,
    DateTimeOffset? LastLoginAt,
    DateTimeOffset? LockedUntil)
{
    public static UserSummary From(UserRecord user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new(user.Id, user.Email, user.DisplayName, user.Roles, user.Permissions, user.CreatedAt, user.DisabledAt, user.LastLoginAt, user.LockedUntil);
    }
}

public sealed record PageResponse<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);

public sealed record SetRolesRequest(IReadOnlyList<string>? Roles);

/// <summary>Administration (permission users:manage): users, roles, disabling, the audit log.</summary>
public static class AdminApi
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/auth/admin").WithTags("Administration").RequirePermission(Permissions.UsersManage);

        admin.MapGet("/users", ListUsersAsync)
            .WithName("ListUsers")
            .WithSummary("Users, oldest first. ?page (from 1) & pageSize (1-100, default 50).");

        admin.MapPut("/users/{id:guid}/roles", SetRolesAsync)
            .WithName("SetUserRoles")
            .WithSummary("Replace a user's roles (admin, manager, user). Ends their sessions. 409 when it would remove the last admin.");

        admin.MapPost("/users/{id:guid}/disable", DisableAsync)
            .WithName("DisableUser")
            .WithSummary("Disable a user: ends their sessions and revokes their API keys. 409 for the last admin.");

        admin.MapPost("/users/{id:guid}/enable", EnableAsync)
            .WithName("EnableUser")
            .WithSummary("Enable a disabled user (and clear a lockout). Their old sessions and API keys stay revoked.");

        admin.MapGet("/audit", GetAuditAsync)
            .WithName("GetAuditLog")
            .WithSummary("The audit log, newest first. ?type (e.g. login.failed) & userId (actor or subject) & page & pageSize.");

        return app;
    }

    public static async Task<Results<Ok<PageResponse<UserSummary>>, ValidationProblem>> ListUsersAsync(
        int? page, int? pageSize, UserStore users, CancellationToken cancellationToken)
    {
        if (!TryPaging(page, pageSize, out var p, out var size, out var invalid))
        {
            return invalid;
        }

        var (items, total) = await users.ListAsync(p, size, cancellationToken);
        return TypedResults.Ok(new PageResponse<UserSummary>([.. items.Select(UserSummary.From)], p, size, total));
    }

    public static async Task<Results<Ok<UserSummary>, ValidationProblem, ProblemHttpResult>> SetRolesAsync(
        Guid id,
        SetRolesRequest? request,
        ClaimsPrincipal principal,
        UserAdministration administration,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        if (request?.Roles is not { } roles || roles.Any(string.IsNullOrWhiteSpace))
        {
            return AuthProblems.Invalid("roles", "A JSON body {roles: [\"admin\" | \"manager\" | \"user\", ...]} is required.");
        }

        var result = await administration.SetRolesAsync(id, roles, AuditContext.From(httpContext, principal.UserId()), cancellationToken);
        return result.Status switch
        {
            AdminChangeStatus.Changed or AdminChangeStatus.Unchanged => TypedResults.Ok(UserSummary.From(result.User!)),
            AdminChangeStatus.UnknownRoles => AuthProblems.Problem(StatusCodes.Status400BadRequest, AuthProblems.UnknownRole, "Unknown role",
                $"Unknown roles: {string.Join(", ", result.UnknownRoles!)}. Roles: {string.Join(", ", Roles.All)}.",
                new Dictionary<string, object?> { ["unknownRoles"] = result.UnknownRoles }),
            AdminChangeStatus.LastAdmin => LastAdmin(),
            _ => AuthProblems.UserNotFound(id),
        };
    }

    public static async Task<Results<Ok<UserSummary>, ProblemHttpResult>> DisableAsync(
        Guid id,
        ClaimsPrincipal principal,
        UserAdministration administration,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        var result = await administration.DisableAsync(id, AuditContext.From(httpContext, principal.UserId()), cancellationToken);
        return result.Status switch
        {
            AdminChangeStatus.Changed or AdminChangeStatus.Unchanged => TypedResults.Ok(UserSummary.From(result.User!)),
            AdminChangeStatus.LastAdmin => LastAdmin(),
            _ => AuthProblems.UserNotFound(id),
        };
    }

    public static async Task<Results<Ok<UserSummary>, ProblemHttpResult>> EnableAsync(
        Guid id,
        ClaimsPrincipal principal,
        UserAdministration administration,
        HttpContext httpContext,
        CancellationToken cancellationToken)
    {
        var result = await administration.EnableAsync(id, AuditContext.From(httpContext, principal.UserId()), cancellationToken);
        return result.Status == AdminChangeStatus.NotFound ? AuthProblems.UserNotFound(id) : TypedResults.Ok(UserSummary.From(result.User!));
    }

    public static async Task<Results<Ok<PageResponse<AuditEntry>>, ValidationProblem>> GetAuditAsync(
        string? type, Guid? userId, int? page, int? pageSize, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!TryPaging(page, pageSize, out var p, out var size, out var invalid))
        {
            return invalid;
        }

        if (type is { Length: > 64 })
        {
            return AuthProblems.Invalid("type", "At most 64 characters.");
        }

        var (items, total) = await audit.QueryAsync(string.IsNullOrWhiteSpace(type) ? null : type.Trim(), userId, p, size, cancellationToken);
        return TypedResults.Ok(new PageResponse<AuditEntry>(items, p, size, total));
    }

    /// <summary>page ≥ 1; pageSize 1..100 (larger values are capped at 100), default 50.</summary>
    private static bool TryPaging(int? page, int? pageSize, out int p, out int size, out ValidationProblem invalid)
    {
        p = page ?? 1;
        size = Math.Min(pageSize ?? DefaultPageSize, MaxPageSize);
        invalid = null!;
        if (p < 1 || size < 1 || p > 1_000_000)
        {
            invalid = AuthProblems.Invalid("paging", $"page must be ≥ 1 and pageSize between 1 and {MaxPageSize}.");
            return false;
        }

        return true;
    }

    private static ProblemHttpResult LastAdmin() =>
        AuthProblems.Problem(StatusCodes.Status409Conflict, AuthProblems.LastAdmin, "Last admin",
            "This would leave no enabled admin; make another user admin first.");
}
