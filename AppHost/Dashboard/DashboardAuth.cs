using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmartHub.Hosting.Dashboard;

/// <summary>
/// Who may use the dashboard, as in Aspire's "browser token" mode: whoever opens the login link the AppHost prints
/// (<c>/login?t=TOKEN</c>) gets a session cookie (HttpOnly, SameSite=Strict) for as long as the AppHost runs. Every page
/// and action needs that cookie; the token is compared in constant time and never written back to a page.
/// </summary>
internal sealed class DashboardAuth
{
    public const string CookieName = "smarthub_dashboard";
    private const int MaxSessions = 1000;
    private readonly byte[] _token;
    private readonly ConcurrentDictionary<string, long> _sessions = new(StringComparer.Ordinal);
    private long _issued;

    public DashboardAuth(string? configuredToken)
    {
        Token = configuredToken ?? Base64Url(RandomNumberGenerator.GetBytes(32));
        _token = Encoding.UTF8.GetBytes(Token);
    }

    /// <summary>The browser token; printed once, in the login link of the start-up summary.</summary>
    public string Token { get; }

    public bool IsValidToken(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _token);

    public bool IsSignedIn(HttpContext context) =>
        context.Request.Cookies.TryGetValue(CookieName, out var session) && session is not null && _sessions.ContainsKey(session);

    /// <summary>Starts a session: a fresh random id in the cookie (never the token itself).</summary>
    public void SignIn(HttpContext context)
    {
        var session = Base64Url(RandomNumberGenerator.GetBytes(32));
        _sessions[session] = Interlocked.Increment(ref _issued);
        if (_sessions.Count > MaxSessions)
        {
            // Bounded: the oldest sessions end first (each login makes one; nobody needs a thousand).
            foreach (var old in _sessions.OrderBy(s => s.Value).Take(_sessions.Count - MaxSessions).ToList())
            {
                _sessions.TryRemove(old.Key, out _);
            }
        }

        context.Response.Cookies.Append(CookieName, session, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
        });
    }

    public void SignOut(HttpContext context)
    {
        if (context.Request.Cookies.TryGetValue(CookieName, out var session) && session is not null)
        {
            _sessions.TryRemove(session, out _);
        }

        context.Response.Cookies.Delete(CookieName);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The gate in front of every dashboard page: loopback host names only, a session, same-origin actions.</summary>
internal static class DashboardAuthExtensions
{
    private static readonly string[] Anonymous = ["/login", "/assets/"];

    public static IApplicationBuilder UseDashboardAuth(this IApplicationBuilder app, DashboardAuth auth) => app.Use(async (context, next) =>
    {
        var response = context.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        // No referrer: the login link's token must never travel to an endpoint the dashboard links to.
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
        response.Headers.CacheControl = "no-store";

        // DNS rebinding: a page of another site that resolves its own name to 127.0.0.1 reaches this port with its host name.
        if (!IsLoopbackHost(context.Request.Host.Host))
        {
            response.StatusCode = StatusCodes.Status400BadRequest;
            await response.WriteAsync("The dashboard answers only to 127.0.0.1, localhost or [::1].", context.RequestAborted);
            return;
        }

        var path = context.Request.Path.Value ?? "/";
        if (Anonymous.Any(a => path.StartsWith(a, StringComparison.Ordinal)))
        {
            await next(context);
            return;
        }

        if (!auth.IsSignedIn(context))
        {
            if (HttpMethods.IsGet(context.Request.Method) && !path.StartsWith("/api/", StringComparison.Ordinal))
            {
                response.Redirect("/login");
            }
            else
            {
                response.StatusCode = StatusCodes.Status401Unauthorized;
                await response.WriteAsync("Sign in to the dashboard with the login link the AppHost printed at start.", context.RequestAborted);
            }

            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !IsSameOrigin(context.Request))
        {
            response.StatusCode = StatusCodes.Status403Forbidden;
            await response.WriteAsync("Actions are accepted only from the dashboard's own pages.", context.RequestAborted);
            return;
        }

        await next(context);
    });

    public static IEndpointRouteBuilder MapDashboardLogin(this IEndpointRouteBuilder endpoints, DashboardAuth auth)
    {
        endpoints.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (t is null)
            {
                return LoginPage(null, StatusCodes.Status200OK);
            }

            if (!auth.IsValidToken(t))
            {
                return LoginPage("That login link is not valid (the AppHost makes a new token at every start).", StatusCodes.Status401Unauthorized);
            }

            auth.SignIn(context);
            // Redirect: the token leaves the address bar and the history.
            return Results.Redirect("/");
        });
        endpoints.MapPost("/login", async (HttpContext context) =>
        {
            var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
            if (!auth.IsValidToken(form?["token"].ToString()))
            {
                return LoginPage("That token is not valid.", StatusCodes.Status401Unauthorized);
            }

            auth.SignIn(context);
            return Results.Redirect("/", preserveMethod: false);
        }).DisableAntiforgery();
        endpoints.MapPost("/logout", (HttpContext context) =>
        {
            auth.SignOut(context);
            return Results.Redirect("/login");
        });
        return endpoints;
    }

    private static IResult LoginPage(string? error, int status) => Html.Page("Sign in", null, $"""
        <section class="login">
          <h1>SmartHub dashboard</h1>
          <p>Open the login link the AppHost printed at start, or paste its token (the <code>t=</code> part).</p>
          {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{Html.E(error)}</p>")}
          <form method="post" action="/login">
            <label>Token <input name="token" type="password" autocomplete="off" required autofocus></label>
            <button type="submit">Sign in</button>
          </form>
        </section>
        """, status, signedIn: false);

    internal static bool IsLoopbackHost(string host) =>
        host is "127.0.0.1" or "localhost" or "[::1]" or "::1";

    private static bool IsSameOrigin(HttpRequest request)
    {
        if (request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site)
        {
            return site == "same-origin";
        }

        var origin = request.Headers.Origin.ToString();
        return origin.Length > 0 && string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase);
    }
}
