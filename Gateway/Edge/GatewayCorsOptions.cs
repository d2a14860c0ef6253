using Microsoft.AspNetCore.Cors.Infrastructure;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// CORS, section <c>Cors</c>: <c>Cors:AllowedOrigins</c> (array; env <c>Cors__AllowedOrigins__0</c>, ...) lists the
/// browser origins allowed to call the gateway. Empty (the default) = no CORS headers at all, so browsers on other
/// origins cannot read responses. <c>"*"</c> allows any origin, but never with credentials.
/// </summary>
internal sealed class GatewayCorsOptions
{
    public const string SectionName = "Cors";

    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Allow cookies / HTTP auth from the listed origins (not with "*"). Off by default: the API uses bearer headers.</summary>
    public bool AllowCredentials { get; set; }

    /// <summary>How long browsers may cache a preflight answer.</summary>
    public int PreflightMaxAgeSeconds { get; set; } = 600;

    /// <summary>Response headers scripts on allowed origins may read.</summary>
    internal static readonly string[] ExposedHeaders =
    [
        "X-Correlation-ID",
        "X-Response-Time",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    ];

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>True when at least one origin is configured (otherwise the CORS middleware is not added).</summary>
    public bool IsEnabled => AllowedOrigins.Length > 0;

    /// <summary>Problems with the configuration, empty when it is valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var wildcard = AllowedOrigins.Contains("*", StringComparer.Ordinal);
        if (wildcard && AllowedOrigins.Length > 1)
        {
            errors.Add("Cors:AllowedOrigins mixes \"*\" with explicit origins; use either \"*\" alone or a list of origins.");
        }

        if (wildcard && AllowCredentials)
        {
            errors.Add("Cors:AllowCredentials cannot be true when Cors:AllowedOrigins is \"*\" (browsers refuse it, and it would expose every user's session to any site).");
        }

        foreach (var origin in AllowedOrigins)
        {
            if (origin == "*")
            {
                continue;
            }

            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.PathAndQuery != "/"
                || origin.EndsWith('/'))
            {
                errors.Add($"Cors:AllowedOrigins entry '{origin}' is not an origin: expected scheme://host[:port] without a path or trailing slash, e.g. https://app.example.com.");
            }
        }

        if (PreflightMaxAgeSeconds is < 0 or > 86_400)
        {
            errors.Add("Cors:PreflightMaxAgeSeconds must be between 0 and 86400.");
        }

        return errors;
    }

    /// <summary>The policy the CORS middleware applies to every route.</summary>
    public CorsPolicy BuildPolicy()
    {
        var builder = new CorsPolicyBuilder()
            .AllowAnyHeader()
            .WithMethods(Methods)
            .WithExposedHeaders(ExposedHeaders)
            .SetPreflightMaxAge(TimeSpan.FromSeconds(PreflightMaxAgeSeconds));

        if (AllowedOrigins is ["*"])
        {
            builder.AllowAnyOrigin();
        }
        else
        {
            builder.WithOrigins(AllowedOrigins);
            if (AllowCredentials)
            {
                builder.AllowCredentials();
            }
        }

        return builder.Build();
    }
}
