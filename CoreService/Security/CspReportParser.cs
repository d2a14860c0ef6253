using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Net.Http.Headers;

namespace SmartHub.CoreService.Security;

/// <summary>One CSP violation as stored: fields cut to their limits, URLs without query string and fragment.</summary>
public record CspViolation(
    string Format,
    string DocumentUri,
    string? BlockedUri,
    string EffectiveDirective,
    string? ViolatedDirective,
    string? OriginalPolicy,
    string? Disposition,
    string? Referrer,
    int? StatusCode,
    string? SourceFile,
    long? LineNumber,
    long? ColumnNumber,
    string? Sample,
    long? AgeMs,
    string? UserAgent);

/// <summary>The violations of a report body, or the field that was wrong and why (never the value: answers do not echo input).</summary>
public sealed record CspReportParseResult(IReadOnlyList<CspViolation> Violations, string? Field, string? Error)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// Reads the two report formats browsers send:
/// <list type="bullet">
/// <item><c>report-uri</c> (CSP Level 2, <c>Content-Type: application/csp-report</c>):
/// <c>{"csp-report": {"document-uri", "blocked-uri", "violated-directive", "effective-directive", "original-policy",
/// "disposition", "referrer", "status-code", "source-file", "line-number", "column-number", "script-sample"}}</c>.</item>
/// <item><c>report-to</c> (the Reporting API, <c>Content-Type: application/reports+json</c>): a JSON array of
/// <c>{"type", "age", "url", "user_agent", "body": {"documentURL", "blockedURL", "effectiveDirective", "originalPolicy",
/// "disposition", "statusCode", "sourceFile", "lineNumber", "columnNumber", "sample", "referrer"}}</c>; reports of other
/// types (deprecation, intervention, ...) are skipped.</item>
/// </list>
/// <c>application/json</c> is read by its shape (an object is the first format, an array the second): some older
/// browsers label <c>report-uri</c> bodies so. Required: the document's URL and the directive (effective, else the
/// violated one). A value of the wrong JSON type is an error, a null one counts as absent.
/// </summary>
public static partial class CspReportParser
{
    public const string LegacyFormat = "csp-report";
    public const string ReportingFormat = "reports+json";
    private const string JsonByShape = "json";

    public const int MaxUrlLength = 2048;
    public const int MaxPolicyLength = 4096;
    public const int MaxSampleLength = 256;
    public const int MaxUserAgentLength = 512;
    private const int MaxDispositionLength = 16;

    private static readonly JsonDocumentOptions s_json = new() { MaxDepth = 16 };

    [GeneratedRegex("^[a-z][a-z0-9-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex DirectiveName();

    /// <summary>True for a lower-case CSP directive name (letters, digits, hyphens; at most 64).</summary>
    public static bool IsDirectiveName(string name) => DirectiveName().IsMatch(name);

    /// <summary>The format a Content-Type announces, or null when it is none of the accepted ones (415).</summary>
    public static string? FormatOf(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return null;
        }

        return media.MediaType.Value?.ToLowerInvariant() switch
        {
            "application/csp-report" => LegacyFormat,
            "application/reports+json" => ReportingFormat,
            "application/json" => JsonByShape,
            _ => null,
        };
    }

    /// <summary>Parses a body in <paramref name="format"/> (from <see cref="FormatOf"/>).</summary>
    /// <param name="userAgent">The request's User-Agent, for reports that do not name their own.</param>
    public static CspReportParseResult Parse(ReadOnlyMemory<byte> body, string format, string? userAgent, int maxReports)
    {
        try
        {
            using var document = JsonDocument.Parse(body, s_json);
            var root = document.RootElement;
            var shape = format == JsonByShape
                ? root.ValueKind switch
                {
                    JsonValueKind.Object => LegacyFormat,
                    JsonValueKind.Array => ReportingFormat,
                    _ => throw new ReportException("body", "The body must be a CSP report object or an array of reports."),
                }
                : format;
            var agent = Clip(userAgent, MaxUserAgentLength);
            IReadOnlyList<CspViolation> violations = shape == LegacyFormat ? [ParseLegacy(root, agent)] : ParseReporting(root, agent, maxReports);
            return new CspReportParseResult(violations, null, null);
        }
        catch (JsonException)
        {
            return new CspReportParseResult([], "body", "The body is not well-formed JSON.");
        }
        catch (ReportException ex)
        {
            return new CspReportParseResult([], ex.Field, ex.Message);
        }
    }

    private static CspViolation ParseLegacy(JsonElement root, string? userAgent)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ReportException("body", "A report-uri body must be a JSON object {\"csp-report\": {...}}.");
        }

        if (!root.TryGetProperty("csp-report", out var report) || report.ValueKind != JsonValueKind.Object)
        {
            throw new ReportException("csp-report", "The body must have a \"csp-report\" object.");
        }

        var r = new Fields(report, "csp-report.");
        var violated = r.String("violated-directive");
        return Read(r, s_legacyNames, LegacyFormat, documentFallback: null, directiveFallback: violated, ageMs: null, userAgent) with
        {
            ViolatedDirective = Clip(violated, MaxPolicyLength),
        };
    }

    private static List<CspViolation> ParseReporting(JsonElement root, string? userAgent, int maxReports)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new ReportException("body", "A Reporting API body must be a JSON array of reports.");
        }

        if (root.GetArrayLength() > maxReports)
        {
            throw new ReportException("body", $"At most {maxReports} reports are accepted in one request.");
        }

        var violations = new List<CspViolation>();
        var index = 0;
        foreach (var item in root.EnumerateArray())
        {
            var path = $"[{index++}].";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new ReportException(path.TrimEnd('.'), "Each report must be a JSON object.");
            }

            var report = new Fields(item, path);
            if (report.Required("type") != "csp-violation")
            {
                continue; // deprecation, intervention, crash, ... reports are not ours to keep
            }

            if (!item.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
            {
                throw new ReportException(path + "body", "A csp-violation report must have a \"body\" object.");
            }

            violations.Add(Read(
                new Fields(body, path + "body."),
                s_reportingNames,
                ReportingFormat,
                documentFallback: NonEmpty(report.String("url")),
                directiveFallback: null,
                ageMs: report.Number("age", long.MaxValue),
                Clip(report.String("user_agent"), MaxUserAgentLength) ?? userAgent));
        }

        return violations;
    }

    /// <summary>The members of one violation, named as its format names them.</summary>
    private sealed record FieldNames(
        string Document, string Blocked, string Directive, string Policy, string Disposition, string Referrer,
        string Status, string Source, string Line, string Column, string Sample);

    private static readonly FieldNames s_legacyNames = new(
        "document-uri", "blocked-uri", "effective-directive", "original-policy", "disposition", "referrer",
        "status-code", "source-file", "line-number", "column-number", "script-sample");

    private static readonly FieldNames s_reportingNames = new(
        "documentURL", "blockedURL", "effectiveDirective", "originalPolicy", "disposition", "referrer",
        "statusCode", "sourceFile", "lineNumber", "columnNumber", "sample");

    /// <summary>One violation from its members: the document's URL (else <paramref name="documentFallback"/>) and the directive (else <paramref name="directiveFallback"/>) required.</summary>
    private static CspViolation Read(
        Fields f, FieldNames n, string format, string? documentFallback, string? directiveFallback, long? ageMs, string? userAgent) => new(
            format,
            DocumentUri: Url(NonEmpty(f.String(n.Document)) ?? documentFallback ?? f.Required(n.Document))!,
            BlockedUri: Url(f.String(n.Blocked)),
            EffectiveDirective: Directive(NonEmpty(f.String(n.Directive)) ?? directiveFallback, f.Path(n.Directive)),
            ViolatedDirective: null,
            OriginalPolicy: Clip(f.String(n.Policy), MaxPolicyLength),
            Disposition: Clip(f.String(n.Disposition)?.ToLowerInvariant(), MaxDispositionLength),
            Referrer: Url(f.String(n.Referrer)),
            StatusCode: (int?)f.Number(n.Status, 999),
            SourceFile: Url(f.String(n.Source)),
            LineNumber: f.Number(n.Line, int.MaxValue),
            ColumnNumber: f.Number(n.Column, int.MaxValue),
            Sample: Clip(f.String(n.Sample), MaxSampleLength),
            AgeMs: ageMs,
            UserAgent: userAgent);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The directive's name: its first token (old browsers send the whole directive), lower case; it must look like one.</summary>
    private static string Directive(string? value, string field)
    {
        var name = value?.Trim().Split([' ', '\t'], 2)[0].ToLowerInvariant();
        if (string.IsNullOrEmpty(name))
        {
            throw new ReportException(field, "The violated directive is required.");
        }

        return IsDirectiveName(name)
            ? name
            : throw new ReportException(field, "The directive is not a CSP directive name.");
    }

    /// <summary>
    /// An http(s)/ws(s) URL reduced to scheme, host, port and path (user info, query and fragment can carry secrets);
    /// a <c>data:</c>, <c>blob:</c> or <c>filesystem:</c> URL to its scheme; keywords (<c>inline</c>, <c>eval</c>) as sent. Then clipped.
    /// </summary>
    public static string? Url(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            if (uri.Scheme is "http" or "https" or "ws" or "wss")
            {
                value = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            }
            else if (uri.Scheme is "data" or "blob" or "filesystem")
            {
                value = uri.Scheme;
            }
        }

        return Clip(value, MaxUrlLength);
    }

    /// <summary>At most <paramref name="max"/> characters (never half a surrogate pair), control characters replaced (PostgreSQL refuses NUL; logs and terminals misread the others).</summary>
    public static string? Clip(string? value, int max)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > max)
        {
            value = value[..(char.IsHighSurrogate(value[max - 1]) ? max - 1 : max)];
        }

        return value.AsSpan().IndexOfAnyInRange('\0', '\u001f') < 0 && !value.Contains('\u007f', StringComparison.Ordinal)
            ? value
            : string.Create(value.Length, value, static (span, source) =>
            {
                for (var i = 0; i < source.Length; i++)
                {
                    span[i] = char.IsControl(source[i]) ? '\uFFFD' : source[i];
                }
            });
    }

    /// <summary>Typed reads of one JSON object's members, naming the member (with its path) when one is wrong.</summary>
    private readonly struct Fields(JsonElement element, string prefix)
    {
        public string Path(string name) => prefix + name;

        public string? String(string name)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : throw new ReportException(Path(name), $"\"{name}\" must be a string.");
        }

        public string Required(string name) =>
            String(name) is { Length: > 0 } value ? value : throw new ReportException(Path(name), $"\"{name}\" is required.");

        public long? Number(string name, long max)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0 && number <= max
                ? number
                : throw new ReportException(Path(name), $"\"{name}\" must be a whole number from 0 to {max}.");
        }
    }

    private sealed class ReportException(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
    }
}
