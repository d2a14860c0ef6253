using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// The MCP endpoint's settings, section <c>Mcp</c> (env <c>Mcp__Stateless</c>, ...). Validated at start: a bad value
/// stops McpServer with a message naming it.
/// </summary>
internal sealed class McpOptions
{
    public const string SectionName = "Mcp";

    /// <summary>
    /// false (default): sessions (<c>Mcp-Session-Id</c>), held in this replica's memory, so a client must come back to
    /// the replica that opened its session. true: every POST is served on its own, no session id is issued and GET
    /// answers 405; any replica can serve any request.
    /// </summary>
    public bool Stateless { get; set; }

    /// <summary>A session without a request for this long is closed (its next request gets 404 and the client starts again).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Mcp:IdleTimeout must be from 00:00:01 to 1.00:00:00.")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Sessions this replica holds at most; beyond it a new session is refused with 503 (after closing idle ones).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Mcp:MaxSessions must be from 1 to 1000000.")]
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>Sessions one user holds at most in this replica; a new one beyond it closes that user's least recently used idle one.</summary>
    [Range(1, 10_000, ErrorMessage = "Mcp:MaxSessionsPerUser must be from 1 to 10000.")]
    public int MaxSessionsPerUser { get; set; } = 20;

    /// <summary>The largest POST body (8 MiB, the gateway's limit on /mcp); a larger one is a 413.</summary>
    [Range(1024, 1L << 30, ErrorMessage = "Mcp:MaxRequestBodyBytes must be from 1024 to 1073741824 (1 GiB).")]
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// An SSE response that has been silent this long gets a comment line (<c>: keep-alive</c>), so that proxies which
    /// close idle connections (YARP's default is 100 s) keep the GET stream and slow tool calls open. 0 turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Mcp:KeepAliveInterval must be from 00:00:00 (off) to 00:10:00.")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Origins (<c>https://app.example.com</c>) whose browser pages may call /mcp. A request with an Origin header not
    /// listed is refused with 403, as the MCP specification requires against DNS rebinding; clients outside a browser
    /// send no Origin and are not affected. Empty (default): no browser page may.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>CoreService, which answers get_balance and get_usage (service discovery resolves <c>http://core</c>).</summary>
    [Required(ErrorMessage = "Mcp:CoreUri is required.")]
    public Uri CoreUri { get; set; } = new("http://core");
}

/// <summary>What data annotations cannot say: relations between settings and the shape of <see cref="McpOptions.CoreUri"/>.</summary>
internal sealed class McpOptionsValidator : IValidateOptions<McpOptions>
{
    public ValidateOptionsResult Validate(string? name, McpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (options.MaxSessionsPerUser > options.MaxSessions)
        {
            errors.Add($"Mcp:MaxSessionsPerUser ({options.MaxSessionsPerUser}) must not exceed Mcp:MaxSessions ({options.MaxSessions}).");
        }

        if (options.CoreUri is { } core && (!core.IsAbsoluteUri || core.Scheme is not ("http" or "https")))
        {
            errors.Add($"Mcp:CoreUri must be an absolute http(s) URL (was '{core}').");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
