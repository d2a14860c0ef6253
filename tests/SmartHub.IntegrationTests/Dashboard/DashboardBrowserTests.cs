using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard in a real headless Chromium (Debian's, driven by Playwright) against the real graph: sign in with the
/// token link, every resource healthy, a trace across the gateway and CoreService as a waterfall, structured logs
/// filtered by trace id, live console logs, a metric's chart, and the resource actions' buttons.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class DashboardBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private async Task<IPage> SignedInPageAsync()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.LoginUrl.ToString());
        await page.WaitForURLAsync(dashboard.DashboardUrl.ToString());
        return page;
    }

    [Fact]
    public async Task Without_the_token_the_browser_is_sent_to_sign_in_and_a_wrong_token_is_refused()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/traces").ToString());
        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("SmartHub dashboard");
        Assert.Equal(0, await page.Locator("#traces").CountAsync());

        var wrong = await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/login?t=guessed-token").ToString());
        Assert.Equal(401, wrong?.Status);
        await Assertions.Expect(page.Locator("[role=alert]")).ToContainTextAsync("not valid");

        // The form takes the token too; the token never stays in the address bar.
        await page.FillAsync("input[name=token]", new Uri(dashboard.LoginUrl.ToString()).Query["?t=".Length..]);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(dashboard.DashboardUrl.ToString());
        Assert.DoesNotContain("t=", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Signed_in_with_the_token_link_every_resource_is_shown_healthy()
    {
        var page = await SignedInPageAsync();
        var cookie = Assert.Single(await page.Context.CookiesAsync());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);

        foreach (var resource in new[] { "postgres", "authdb", "coredb", "cache", "auth", "core", "mcp", "gateway" })
        {
            var row = page.Locator($"tr[data-resource={resource}]");
            await Assertions.Expect(row.Locator("td").Nth(3)).ToHaveTextAsync("Healthy");
            await Assertions.Expect(row.Locator("td").Nth(2)).ToContainTextAsync("Running");
        }

        // The gateway's endpoint is a link; the PID is the process's.
        var gateway = page.Locator("tr[data-resource=gateway]");
        await Assertions.Expect(gateway.Locator("a[target=_blank]")).ToHaveAttributeAsync("href", dashboard.App.GetEndpoint("gateway").ToString().TrimEnd('/'));
        await Assertions.Expect(gateway.Locator("td").Nth(4)).ToHaveTextAsync(dashboard.App.ResourceNotifications.GetSnapshot("gateway").ProcessId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_trace_across_the_gateway_and_core_opens_as_a_waterfall()
    {
        var traceId = await dashboard.TracedRequestAsync();
        await dashboard.WaitForTraceAsync(traceId, "gateway", "core");
        var page = await SignedInPageAsync();

        await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/traces?resource=core").ToString());
        var row = page.Locator($"#traces tr:has(a[href='/traces/{traceId}'])");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator(".resource", new() { HasText = "gateway" })).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator(".resource", new() { HasText = "core" })).ToHaveCountAsync(1);

        await row.Locator($"a[href='/traces/{traceId}']").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/traces/{traceId}$"));
        await Assertions.Expect(page.Locator("#trace-id")).ToHaveTextAsync(traceId);
        var spans = page.Locator("#waterfall details.span");
        Assert.True(await spans.CountAsync() >= 3);
        // The root is the gateway's; CoreService's server span and its PostgreSQL calls hang below it.
        await Assertions.Expect(spans.First.Locator(".resource").First).ToHaveTextAsync("gateway");
        var coreSpan = spans.Filter(new() { HasText = "GET /api/v1/credits/balance" }).Filter(new() { Has = page.Locator(".resource", new() { HasTextRegex = new Regex("^core$") }) });
        await Assertions.Expect(coreSpan).ToHaveCountAsync(1);
        await Assertions.Expect(spans.Filter(new() { Has = page.Locator(".resource.peer", new() { HasText = "postgres" }) }).First).ToBeVisibleAsync();

        // A span opens to its attributes.
        await coreSpan.Locator("summary").ClickAsync();
        await Assertions.Expect(coreSpan.Locator(".span-details")).ToContainTextAsync("/api/v1/credits/balance");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Structured_logs_filter_by_trace_id_and_a_log_links_to_its_trace()
    {
        var traceId = await dashboard.LoggedRequestAsync();
        await dashboard.WaitForTraceAsync(traceId, "gateway", "auth");
        await Poll.UntilAsync(() => Task.FromResult(dashboard.Telemetry.Logs(l => l.TraceId == traceId, 1).Count == 1), TimeSpan.FromSeconds(20), "a log record of the trace arrives");
        var page = await SignedInPageAsync();

        await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/structuredlogs").ToString());
        var all = await page.Locator("#logs > tbody > tr").CountAsync();
        await page.FillAsync("input[name=traceId]", traceId);
        await page.ClickAsync("form.filters button[type=submit]");
        await page.WaitForURLAsync(new Regex($"traceId={traceId}"));

        var rows = page.Locator("#logs > tbody > tr");
        await Assertions.Expect(rows.First).ToBeVisibleAsync();
        var shown = await rows.CountAsync();
        // Records of the trace may still be arriving: the page shows at most what the store holds now.
        Assert.InRange(shown, 1, dashboard.Telemetry.Logs(l => l.TraceId == traceId, 1000).Count);
        Assert.True(all > shown, $"the filter narrows the list ({all} records before, {shown} of the trace)");
        await Assertions.Expect(rows.Filter(new() { HasText = "answered like a new one" })).ToHaveCountAsync(1);
        foreach (var link in await rows.Locator("a.trace-link").AllAsync())
        {
            Assert.Equal($"/traces/{traceId}", await link.GetAttributeAsync("href"));
        }

        await rows.First.Locator("a.trace-link").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/traces/{traceId}$"));
        await Assertions.Expect(page.Locator("#trace-id")).ToHaveTextAsync(traceId);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Console_logs_follow_a_resource_live()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/console?resource=auth").ToString());
        var lines = page.Locator("#console .line");
        await Assertions.Expect(lines.First).ToBeVisibleAsync();
        var before = await lines.CountAsync();

        // A request that makes AuthService write a line: it appears without reloading the page.
        await dashboard.LoggedRequestAsync();
        await Assertions.Expect(lines.Filter(new() { HasText = "answered like a new one" }).Last).ToBeVisibleAsync(new() { Timeout = 20_000 });
        Assert.True(await lines.CountAsync() > before);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_metric_of_a_resource_is_charted_over_time()
    {
        await Poll.UntilAsync(
            () => Task.FromResult(dashboard.Telemetry.Metrics("gateway", "http.server.request.duration").Any(s => s.Points.Count > 0)),
            TimeSpan.FromSeconds(20), "the gateway's request durations arrive");
        var page = await SignedInPageAsync();
        await page.GotoAsync(new Uri(dashboard.DashboardUrl, "/metrics?resource=gateway").ToString());
        await page.Locator("#instruments a", new() { HasText = "http.server.request.duration" }).ClickAsync();
        await Assertions.Expect(page.Locator("#chart h2")).ToContainTextAsync("http.server.request.duration");
        await Assertions.Expect(page.Locator("#chart svg polyline").First).ToBeAttachedAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_stop_and_start_buttons_stop_and_start_a_resource()
    {
        var page = await SignedInPageAsync();
        var row = page.Locator("tr[data-resource=mcp]");
        await row.Locator("button[name=stop]").ClickAsync();
        await Assertions.Expect(row.Locator("td").Nth(2)).ToContainTextAsync("Finished", new() { Timeout = 30_000 });
        Assert.Null(dashboard.App.ResourceNotifications.GetSnapshot("mcp").ProcessId);

        await page.Locator("tr[data-resource=mcp] button[name=start]").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-resource=mcp] td").Nth(3)).ToHaveTextAsync("Healthy", new() { Timeout = 60_000 });
        Assert.True(dashboard.App.ResourceNotifications.GetSnapshot("mcp").IsHealthy);
        await page.Context.CloseAsync();
    }
}
