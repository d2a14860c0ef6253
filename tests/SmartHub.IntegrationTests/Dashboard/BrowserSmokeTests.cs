using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>
/// A permanent canary of the browser stack on this machine (Debian's Chromium, Playwright's driver, the fixture), on a
/// tiny page of its own and not on the dashboard: when it fails, the machine's browser set-up is broken, not the
/// dashboard. It covers what the dashboard's tests rely on: a token login link that sets a cookie, the cookie on the
/// next page and on the page's own fetch, filling and clicking, inline script, and a fresh context per test.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserSmokeTests(BrowserFixture browser, ITestOutputHelper output)
{
    [Fact]
    public async Task Browser_stack_smoke_login_link_sets_a_cookie_the_next_page_and_its_script_send()
    {
        await using var site = await SmokeSite.StartAsync();
        var stopwatch = Stopwatch.StartNew();
        var page = await browser.NewPageAsync();

        var start = await page.GotoAsync(site.Url + "/");
        await page.ClickAsync("#login");
        await page.WaitForURLAsync(site.Url + "/home");
        await page.WaitForSelectorAsync("#greet");
        var who = await page.Locator("#who").TextContentAsync();
        var cookies = await page.Context.CookiesAsync();
        await page.FillAsync("#name", "Ada");
        await page.ClickAsync("#greet");
        await Assertions.Expect(page.Locator("#out")).ToHaveTextAsync("Hello, Ada (signed in)");

        // Another test's page: a new context, so without the cookie.
        var other = await browser.NewPageAsync();
        var home = await other.GotoAsync(site.Url + "/home");
        var otherWho = await other.Locator("#who").TextContentAsync();
        await other.Context.CloseAsync();
        await page.Context.CloseAsync();

        Assert.Equal(200, start?.Status);
        Assert.Equal("signed in", who);
        var cookie = Assert.Single(cookies);
        Assert.Equal(SmokeSite.CookieName, cookie.Name);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal(401, home?.Status);
        Assert.Equal("not signed in", otherWho);
        output.WriteLine($"{browser.ChromiumPath} {browser.Browser.Version}: launched in {browser.LaunchTime.TotalMilliseconds:F0} ms; this test {stopwatch.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// Kestrel on 127.0.0.1, a random port: <c>/</c> has the login link, <c>/login?t=TOKEN</c> sets an HttpOnly cookie
    /// and redirects to <c>/home</c> (401 without the cookie), whose button fetches <c>/api/greet</c> (cookie required)
    /// from inline script.
    /// </summary>
    private sealed class SmokeSite : IAsyncDisposable
    {
        public const string CookieName = "smoke_session";

        private const string HomePage = """
            <!doctype html>
            <title>Smoke</title>
            <p id="who">signed in</p>
            <form onsubmit="return false">
              <input id="name" autocomplete="off">
              <button id="greet" type="button">Greet</button>
            </form>
            <output id="out"></output>
            <script>
              document.getElementById('greet').addEventListener('click', async () => {
                const name = document.getElementById('name').value;
                const response = await fetch('/api/greet?name=' + encodeURIComponent(name));
                document.getElementById('out').textContent = response.ok ? await response.text() : 'HTTP ' + response.status;
              });
            </script>
            """;

        private readonly WebApplication _app;

        private SmokeSite(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public static async Task<SmokeSite> StartAsync()
        {
            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();

            bool SignedIn(HttpContext http) => http.Request.Cookies[CookieName] == session;

            app.MapGet("/", () => Results.Content(
                $"<!doctype html><title>Smoke</title><a id=\"login\" href=\"/login?t={token}\">Sign in</a>", "text/html"));
            app.MapGet("/login", (string? t, HttpContext http) =>
            {
                if (t != token)
                {
                    return Results.Unauthorized();
                }

                http.Response.Cookies.Append(CookieName, session, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Path = "/",
                });
                return Results.Redirect("/home");
            });
            app.MapGet("/home", (HttpContext http) => SignedIn(http)
                ? Results.Content(HomePage, "text/html")
                : Results.Content("<!doctype html><p id=\"who\">not signed in</p>", "text/html", statusCode: 401));
            app.MapGet("/api/greet", (string? name, HttpContext http) => SignedIn(http)
                ? Results.Text($"Hello, {name} (signed in)")
                : Results.Unauthorized());

            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
                .Addresses.Single();
            return new SmokeSite(app, address);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
