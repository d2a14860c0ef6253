using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.CoreService.Security;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

public sealed record ViolationsPage(IReadOnlyList<StoredViolation> Items, string? NextCursor);

/// <summary>
/// Security reporting in CoreService, which owns the CSP violations (coredb):
/// <list type="bullet">
/// <item><c>POST /api/v1/security/csp-report</c>: anonymous (browsers send reports without credentials; the gateway
/// limits it per client IP and to 64 KiB), both report formats (<see cref="CspReportParser"/>); 204, or 400/413/415
/// ProblemDetails that never echo the report. Reports are not logged above Debug, and never whole.</item>
/// <item><c>GET /api/v1/security/violations</c> (<c>system:read</c>): the stored violations, newest first, paged.</item>
/// <item><c>GET /internal/security/violations/summary</c> (<c>X-Internal-Token</c>): the count the gateway's
/// <c>GET /api/v1/security/status</c> scores.</item>
/// </list>
/// </summary>
public static class SecurityApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;
    public const string UnsupportedMediaType = "https://smarthub.local/problems/unsupported-media-type";
    public const string ContentTooLarge = "https://smarthub.local/problems/content-too-large";

    public static IEndpointRouteBuilder MapSecurityApi(this IEndpointRouteBuilder app)
    {
        var security = app.MapGroup("/api/v1/security").WithTags("Security");

        // No .Accepts(...) metadata: routing would answer other content types with a bare 415 before the handler,
        // which says which ones it takes.
        security.MapPost("/csp-report", ReceiveReportAsync)
            .AllowAnonymous()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithName("ReceiveCspReport")
            .WithSummary("A browser's CSP violation report (report-uri: application/csp-report; report-to: application/reports+json), at most 64 KiB: 204, stored with the request's correlation id.");

        security.MapGet("/violations", ListViolationsAsync)
            .RequirePermission(Permissions.SystemRead)
            .WithName("GetCspViolations")
            .WithSummary("Stored CSP violations, newest first. ?limit (1-200, default 50) & cursor (nextCursor of the previous page) & since (date or RFC 3339 time) & directive (e.g. script-src-elem).");

        app.MapGet("/internal/security/violations/summary", SummarizeAsync)
            .RequireInternalToken()
            .WithTags("Internal")
            .WithName("SummarizeCspViolations")
            .WithSummary("?since: how many CSP violations arrived since then, all and distinct (page, directive, blocked URI).");

        return app;
    }

    public static async Task<IResult> ReceiveReportAsync(
        HttpContext http, CspViolationStore store, IOptions<SecurityOptions> options, TimeProvider timeProvider,
        ILogger<CspViolationStore> logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        var format = CspReportParser.FormatOf(http.Request.ContentType);
        if (format is null)
        {
            logger.LogDebug("CSP report refused: unsupported Content-Type");
            return CoreProblems.Problem(
                StatusCodes.Status415UnsupportedMediaType, UnsupportedMediaType, "Unsupported Media Type",
                "CSP reports are accepted as application/csp-report (report-uri) or application/reports+json (report-to).");
        }

        var body = await ReadBodyAsync(http, settings.MaxReportBodyBytes, cancellationToken);
        if (body is null)
        {
            logger.LogDebug("CSP report refused: larger than {MaxBytes} bytes", settings.MaxReportBodyBytes);
            return CoreProblems.Problem(
                StatusCodes.Status413PayloadTooLarge, ContentTooLarge, "Content Too Large",
                $"A CSP report may be at most {settings.MaxReportBodyBytes / 1024} KiB.");
        }

        var parsed = CspReportParser.Parse(body, format, http.Request.Headers.UserAgent, settings.MaxReportsPerRequest);
        if (!parsed.IsValid)
        {
            logger.LogDebug("CSP report refused: {Field}: {Reason}", parsed.Field, parsed.Error);
            return CoreProblems.Invalid(parsed.Field!, parsed.Error!);
        }

        await store.StoreAsync(parsed.Violations, timeProvider.GetUtcNow(), http.GetCorrelationId(), cancellationToken);
        logger.LogDebug("Stored {Count} CSP violation(s) from a {Format} report", parsed.Violations.Count, format);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<ViolationsPage>, ValidationProblem>> ListViolationsAsync(
        int? limit, string? cursor, string? since, string? directive, CspViolationStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var size = limit ?? DefaultLimit;
        if (size is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}."];
        }

        long? before = null;
        if (cursor is not null)
        {
            if (CreditsApi.Cursor.TryDecode(cursor, out var id))
            {
                before = id;
            }
            else
            {
                errors["cursor"] = ["cursor must be the nextCursor of a previous page."];
            }
        }

        DateTimeOffset? from = since is null ? null : UsagePeriodParser.ParseTime(since, endOfDay: false, "since", errors);
        var name = directive?.Trim().ToLowerInvariant();
        if (name is not null && !CspReportParser.IsDirectiveName(name))
        {
            errors["directive"] = ["directive must be a CSP directive name, e.g. script-src-elem."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var items = await store.ListAsync(before, from, name, size, cancellationToken);
        var next = items.Count == size ? CreditsApi.Cursor.Encode(items[^1].Id) : null;
        return TypedResults.Ok(new ViolationsPage(items, next));
    }

    public static async Task<Results<Ok<ViolationSummary>, ValidationProblem>> SummarizeAsync(
        string? since, CspViolationStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (since is null)
        {
            return CoreProblems.Invalid("since", "since is required: a date or an RFC 3339 time.");
        }

        var from = UsagePeriodParser.ParseTime(since, endOfDay: false, "since", errors);
        return errors.Count > 0 ? CoreProblems.Invalid(errors) : TypedResults.Ok(await store.SummarizeAsync(from, cancellationToken));
    }

    /// <summary>
    /// The body, at most <paramref name="maxBytes"/>, or null when it is larger: at once for a declared Content-Length,
    /// else (chunked) as soon as the reading passes the limit, which Kestrel enforces too.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http, int maxBytes, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        try
        {
            var total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(total, maxBytes + 1 - total), cancellationToken)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    return null;
                }
            }

            return buffer.AsSpan(0, total).ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
