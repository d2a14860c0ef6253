using System.Globalization;

namespace SmartHub.Gateway.SecurityStatus;

/// <summary>One response header as checked: <c>present</c> (a recommended value), <c>weak</c> (sent, but a value that protects less) or <c>missing</c>.</summary>
internal sealed record HeaderCheck(string Name, bool Required, string Status, string? Value, double Points, double MaxPoints, string? Note);

/// <summary>One test of the CSP's strictness and the points it earned.</summary>
internal sealed record CspCheck(string Check, bool Passed, double Points, double MaxPoints);

internal sealed record CspReport(bool Present, double Points, double MaxPoints, IReadOnlyList<CspCheck> Checks);

internal sealed record HstsReport(bool Present, long? MaxAgeSeconds, bool IncludeSubDomains, bool Preload, double Points, double MaxPoints);

/// <summary>Headers that name the server software (and so which exploits to try), and the points for sending none.</summary>
internal sealed record FingerprintReport(IReadOnlyList<string> Sent, double Points, double MaxPoints);

/// <summary>The penalty for recent CSP violations: <see cref="SecurityScore.PenaltyPerViolation"/> per distinct one, at most <see cref="SecurityScore.MaxPenalty"/>.</summary>
internal sealed record ViolationPenalty(long? Distinct, double Points, double MaxPoints);

internal sealed record SecurityEvaluation(
    double Score,
    string Grade,
    double HeaderPoints,
    double HeaderMaxPoints,
    IReadOnlyList<HeaderCheck> Headers,
    CspReport Csp,
    HstsReport Hsts,
    FingerprintReport Fingerprinting,
    ViolationPenalty Violations);

/// <summary>
/// The security score of a response's headers (0-100) and its grade, as the deployment guide defines it:
/// <list type="bullet">
/// <item><b>Headers, 60 points</b>: the eight <see cref="Required"/> headers, 7.5 each; a header sent with a weaker
/// value than recommended (e.g. <c>Cross-Origin-Resource-Policy: cross-origin</c>) earns half.</item>
/// <item><b>CSP strictness, 25 points</b>: the <see cref="CspChecks"/>, each worth its share.</item>
/// <item><b>HSTS, 10 points</b>: max-age of at least a year 6, <c>includeSubDomains</c> 2, <c>preload</c> 2.</item>
/// <item><b>No fingerprinting, 5 points</b> (the guide leaves these 5% open): none of <see cref="Fingerprinting"/>
/// sent; each one sent costs its quarter.</item>
/// <item><b>Recent violations</b>: −5 per distinct CSP violation (same page, directive and blocked URI) in the window,
/// at most −20. Distinct, because one broken page sends the same report from every visitor; capped, because the report
/// endpoint is anonymous: anyone can send reports, and a flood must not turn a sound configuration into an F (from 100
/// it can reach 80, a B, and no lower).</item>
/// </list>
/// The score is clamped to 0-100 and rounded to one decimal, and the grade read from the rounded score:
/// A+ ≥ 95, A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.
/// </summary>
internal static class SecurityScore
{
    public const double HeadersWeight = 60;
    public const double CspWeight = 25;
    public const double HstsWeight = 10;
    public const double FingerprintWeight = 5;
    public const double PenaltyPerViolation = 5;
    public const double MaxPenalty = 20;
    public const long OneYearSeconds = 31_536_000;

    /// <summary>A required header: its name, and which values are the recommended ones (others are weak).</summary>
    internal sealed record RequiredHeader(string Name, Func<string, bool> IsRecommended, string Recommended);

    /// <summary>The scored headers (OWASP Secure Headers; the ones the gateway sends with a security effect in current browsers).</summary>
    public static IReadOnlyList<RequiredHeader> Required { get; } =
    [
        new("Content-Security-Policy", v => v.Length > 0, "a policy (its strictness is scored on its own)"),
        new("Strict-Transport-Security", v => MaxAge(v) > 0, "max-age > 0 (its settings are scored on their own)"),
        new("X-Content-Type-Options", v => Is(v, "nosniff"), "nosniff"),
        new("X-Frame-Options", v => Is(v, "DENY") || Is(v, "SAMEORIGIN"), "DENY or SAMEORIGIN"),
        new("Referrer-Policy", IsSafeReferrerPolicy, "no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin"),
        new("Permissions-Policy", v => v.Length > 0, "a policy"),
        new("Cross-Origin-Opener-Policy", v => Is(v, "same-origin") || Is(v, "same-origin-allow-popups"), "same-origin"),
        new("Cross-Origin-Resource-Policy", v => Is(v, "same-origin") || Is(v, "same-site"), "same-origin or same-site"),
    ];

    /// <summary>Reported with their values, not scored: legacy headers whose effect is gone or browser-specific.</summary>
    public static IReadOnlyList<RequiredHeader> Recommended { get; } =
    [
        new("X-XSS-Protection", v => Is(v, "0"), "0 (the legacy XSS auditor off; the CSP protects)"),
        new("X-DNS-Prefetch-Control", v => Is(v, "off"), "off"),
        new("X-Download-Options", v => Is(v, "noopen"), "noopen"),
        new("X-Permitted-Cross-Domain-Policies", v => Is(v, "none"), "none"),
    ];

    public static IReadOnlyList<string> Fingerprinting { get; } = ["Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version"];

    /// <summary>The CSP tests and their points (they sum to <see cref="CspWeight"/>).</summary>
    public static IReadOnlyList<(string Check, double Points, Func<CspDirectives, bool> Passes)> CspChecks { get; } =
    [
        ("default-src is 'none' or 'self'", 3.75, csp => CspDirectives.IsNoneOrSelf(csp.Sources("default-src"))),
        ("no 'unsafe-inline' in script-src", 3.75, csp => csp.Effective("script-src") is { } s && !CspDirectives.Contains(s, "'unsafe-inline'")),
        ("no 'unsafe-eval' in script-src", 3.75, csp => csp.Effective("script-src") is { } s && !CspDirectives.Contains(s, "'unsafe-eval'")),
        ("script-src uses a nonce, hashes or 'strict-dynamic'", 2.5, csp => CspDirectives.HasNonceHashOrStrictDynamic(csp.Effective("script-src"))),
        ("no wildcard or scheme-only source in script-src", 1.25, csp => csp.Effective("script-src") is { } s && !s.Any(CspDirectives.IsWildcard)),
        ("object-src 'none'", 2.5, csp => csp.Effective("object-src") is [var only] && string.Equals(only, "'none'", StringComparison.OrdinalIgnoreCase)),
        ("base-uri is 'none' or 'self'", 2.5, csp => CspDirectives.IsNoneOrSelf(csp.Sources("base-uri"))),
        ("frame-ancestors is 'none' or 'self'", 2.5, csp => CspDirectives.IsNoneOrSelf(csp.Sources("frame-ancestors"))),
        ("violations are reported (report-uri or report-to)", 2.5, csp => csp.Has("report-uri") || csp.Has("report-to")),
    ];

    /// <summary>Scores the headers <paramref name="header"/> returns (null when absent; several values joined with ", ").</summary>
    /// <param name="distinctViolations">Distinct recent CSP violations, or null when unknown (no penalty then).</param>
    public static SecurityEvaluation Evaluate(Func<string, string?> header, long? distinctViolations)
    {
        ArgumentNullException.ThrowIfNull(header);

        var perHeader = HeadersWeight / Required.Count;
        var headers = new List<HeaderCheck>(Required.Count + Recommended.Count);
        foreach (var required in Required)
        {
            headers.Add(Check(required, header(required.Name), perHeader, scored: true));
        }

        foreach (var recommended in Recommended)
        {
            headers.Add(Check(recommended, header(recommended.Name), 0, scored: false));
        }

        var headerPoints = headers.Sum(h => h.Points);
        var csp = EvaluateCsp(header("Content-Security-Policy"));
        var hsts = EvaluateHsts(header("Strict-Transport-Security"));
        var sent = Fingerprinting.Where(name => header(name) is not null).ToList();
        var fingerprinting = new FingerprintReport(sent, FingerprintWeight * (Fingerprinting.Count - sent.Count) / Fingerprinting.Count, FingerprintWeight);
        var penalty = new ViolationPenalty(distinctViolations, Penalty(distinctViolations ?? 0), MaxPenalty);

        var score = Math.Clamp(headerPoints + csp.Points + hsts.Points + fingerprinting.Points - penalty.Points, 0, 100);
        score = Math.Round(score, 1, MidpointRounding.AwayFromZero);
        return new SecurityEvaluation(score, Grade(score), headerPoints, HeadersWeight, headers, csp, hsts, fingerprinting, penalty);
    }

    /// <summary>−5 per distinct violation, at most −20.</summary>
    public static double Penalty(long distinctViolations) => Math.Min(Math.Max(distinctViolations, 0) * PenaltyPerViolation, MaxPenalty);

    public static string Grade(double score) => score switch
    {
        >= 95 => "A+",
        >= 90 => "A",
        >= 80 => "B",
        >= 70 => "C",
        >= 60 => "D",
        _ => "F",
    };

    public static CspReport EvaluateCsp(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return new CspReport(false, 0, CspWeight, [.. CspChecks.Select(c => new CspCheck(c.Check, false, 0, c.Points))]);
        }

        var csp = CspDirectives.Parse(value);
        var checks = CspChecks.Select(c =>
        {
            var passed = c.Passes(csp);
            return new CspCheck(c.Check, passed, passed ? c.Points : 0, c.Points);
        }).ToList();
        return new CspReport(true, checks.Sum(c => c.Points), CspWeight, checks);
    }

    public static HstsReport EvaluateHsts(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return new HstsReport(false, null, false, false, 0, HstsWeight);
        }

        var maxAge = MaxAge(value);
        var directives = value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var subDomains = directives.Any(d => Is(d, "includeSubDomains"));
        var preload = directives.Any(d => Is(d, "preload"));
        // includeSubDomains and preload mean nothing without a max-age that keeps the policy.
        var points = maxAge >= OneYearSeconds ? 6.0 : 0;
        if (maxAge > 0)
        {
            points += (subDomains ? 2 : 0) + (preload ? 2 : 0);
        }

        return new HstsReport(true, maxAge, subDomains, preload, points, HstsWeight);
    }

    private static HeaderCheck Check(RequiredHeader required, string? value, double points, bool scored)
    {
        if (value is null)
        {
            return new HeaderCheck(required.Name, scored, "missing", null, 0, points, $"recommended: {required.Recommended}");
        }

        var trimmed = value.Trim();
        return required.IsRecommended(trimmed)
            ? new HeaderCheck(required.Name, scored, "present", value, points, points, null)
            : new HeaderCheck(required.Name, scored, "weak", value, points / 2, points, $"recommended: {required.Recommended}");
    }

    /// <summary>The max-age of an HSTS value in seconds, or null when it has none (or an unreadable one).</summary>
    internal static long? MaxAge(string value)
    {
        foreach (var directive in value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = directive.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && Is(parts[0], "max-age")
                && long.TryParse(parts[1].Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return seconds;
            }
        }

        return null;
    }

    // Referrer-Policy may list fallbacks: browsers apply the last value they know.
    private static bool IsSafeReferrerPolicy(string value)
    {
        string[] safe = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"];
        string[] known = [.. safe, "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "unsafe-url"];
        var effective = value.Split(',', StringSplitOptions.TrimEntries).LastOrDefault(v => known.Contains(v, StringComparer.OrdinalIgnoreCase));
        return effective is not null && safe.Contains(effective, StringComparer.OrdinalIgnoreCase);
    }

    private static bool Is(string value, string expected) => string.Equals(value.Trim(), expected, StringComparison.OrdinalIgnoreCase);
}
