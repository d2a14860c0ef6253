namespace SmartHub.Gateway.SecurityStatus;

/// <summary>
/// A Content-Security-Policy parsed into its directives (CSP Level 3 syntax: <c>name source source; name ...</c>).
/// Directive names and keywords are compared case-insensitively; the first occurrence of a directive wins, as in
/// browsers. When a header carries several policies (comma-separated), only the first is read.
/// </summary>
internal sealed class CspDirectives
{
    private readonly Dictionary<string, string[]> _directives = new(StringComparer.OrdinalIgnoreCase);

    private CspDirectives()
    {
    }

    public static CspDirectives Parse(string? header)
    {
        var policy = new CspDirectives();
        var first = (header ?? "").Split(',', 2)[0];
        foreach (var part in first.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var tokens = part.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            policy._directives.TryAdd(tokens[0], tokens[1..]);
        }

        return policy;
    }

    public bool Has(string directive) => _directives.ContainsKey(directive);

    /// <summary>The directive's sources, or null when the policy does not name it.</summary>
    public IReadOnlyList<string>? Sources(string directive) => _directives.GetValueOrDefault(directive);

    /// <summary>A fetch directive's sources as browsers apply them: its own, else <c>default-src</c>'s, else null (anything goes).</summary>
    public IReadOnlyList<string>? Effective(string fetchDirective) => Sources(fetchDirective) ?? Sources("default-src");

    /// <summary>True when the list is exactly <c>'none'</c>, or holds <c>'self'</c> and nothing that allows any host.</summary>
    public static bool IsNoneOrSelf(IReadOnlyList<string>? sources) =>
        sources is not null
        && ((sources.Count == 1 && IsKeyword(sources[0], "'none'"))
            || (sources.Any(s => IsKeyword(s, "'self'")) && !sources.Any(IsWildcard)));

    public static bool Contains(IReadOnlyList<string>? sources, string keyword) =>
        sources is not null && sources.Any(s => IsKeyword(s, keyword));

    /// <summary>A nonce, a hash or <c>'strict-dynamic'</c>: scripts must be named one by one.</summary>
    public static bool HasNonceHashOrStrictDynamic(IReadOnlyList<string>? sources) =>
        sources is not null && sources.Any(s =>
            s.StartsWith("'nonce-", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("'sha256-", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("'sha384-", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("'sha512-", StringComparison.OrdinalIgnoreCase)
            || IsKeyword(s, "'strict-dynamic'"));

    /// <summary><c>*</c> or a scheme alone (<c>https:</c>, <c>data:</c>, ...): any host, or any content of that scheme.</summary>
    public static bool IsWildcard(string source) =>
        source == "*" || (source.EndsWith(':') && !source.StartsWith('\'') && source.Length > 1);

    private static bool IsKeyword(string source, string keyword) => string.Equals(source, keyword, StringComparison.OrdinalIgnoreCase);
}
