using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.Hosting;
using SmartHub.Hosting.Telemetry;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>
/// One graph with the dashboard on (the testing builder turns it off by default, as Aspire's does): every service
/// exports its telemetry to the AppHost's OTLP receiver, and the dashboard's pages are served on a free port.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private IDistributedApplicationTestingBuilder? _builder;

    public DistributedApplication App { get; private set; } = null!;

    public Uri DashboardUrl => App.DashboardUrl!;

    /// <summary>The link printed at start (it carries the browser token).</summary>
    public Uri LoginUrl => App.DashboardLoginUrl!;

    public TelemetryStore Telemetry => App.Telemetry!;

    public async Task InitializeAsync()
    {
        _builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>();
        _builder.Configuration["SMARTHUB_DASHBOARD_ENABLED"] = "true";
        App = await _builder.BuildAsync();
        await App.StartAsync().WaitAsync(GraphFixture.StartTimeout);
    }

    /// <summary>A client that does not follow redirects and keeps no cookies: what someone without the token sees.</summary>
    public HttpClient Anonymous() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = DashboardUrl };

    /// <summary>A client signed in through the login link (its cookie), not following redirects.</summary>
    public async Task<HttpClient> SignedInAsync()
    {
        var cookies = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = DashboardUrl };
        using var login = await client.GetAsync(LoginUrl);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return client;
    }

    /// <summary>
    /// Signs the admin in and reads their balance through the gateway: a request that crosses the gateway, CoreService
    /// and PostgreSQL. Returns the trace id the gateway answered with (W3C traceparent of its response).
    /// </summary>
    public async Task<string> TracedRequestAsync()
    {
        using var gateway = App.CreateHttpClient("gateway");
        using var login = await gateway.PostAsJsonAsync("/auth/login", new { email = App.GetParameterValue("admin-email"), password = App.GetParameterValue("admin-password") });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/credits/balance");
        request.Headers.Authorization = new("Bearer", token);
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        request.Headers.Add("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await gateway.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return traceId;
    }

    /// <summary>
    /// A request that makes AuthService write a log record inside its trace (a registration for an existing email, which
    /// is answered like a new one and logged); returns the trace id it was sent with.
    /// </summary>
    public async Task<string> LoggedRequestAsync()
    {
        using var gateway = App.CreateHttpClient("gateway");
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/register")
        {
            Content = JsonContent.Create(new { email = App.GetParameterValue("admin-email"), password = "another long password 1234", displayName = "Again" }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await gateway.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return traceId;
    }

    /// <summary>
    /// Waits until the trace's server spans from <paramref name="resources"/> have been exported to the AppHost. A
    /// server span ends after the spans it contains, and each process exports spans in the order they end, so by then
    /// the process's whole part of the trace is held.
    /// </summary>
    public Task WaitForTraceAsync(string traceId, params string[] resources) =>
        Poll.UntilAsync(
            () => Task.FromResult(resources.All(r => Telemetry.Trace(traceId).Any(s => s.Resource == r && s.Kind == "Server"))),
            TimeSpan.FromSeconds(20), $"trace {traceId} has the server spans of {string.Join(", ", resources)}");

    public async Task DisposeAsync()
    {
        if (_builder is not null)
        {
            await _builder.DisposeAsync();
        }
    }
}

/// <summary>The graph with its dashboard, and a headless Chromium to drive it (the browser tests).</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "dashboard";
}
