using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.Hosting;
using SmartHub.FakeProviders;
using SmartHub.Hosting.Testing;

namespace SmartHub.IntegrationTests.Hosting;

/// <summary>
/// One running graph (real PostgreSQL, Redis and service processes, two gateway replicas) shared by the tests of a
/// collection. Each test creates its own users and keys, so tests do not depend on each other's data.
/// </summary>
public sealed class GraphFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private IDistributedApplicationTestingBuilder? _builder;
    private string? _adminToken;

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>Gateway replica 1 (anonymous).</summary>
    public HttpClient Gateway { get; private set; } = null!;

    /// <summary>
    /// Fake upstreams McpServer is configured with (through the AppHost, as an operator would): model <c>gpt-test</c>
    /// on <see cref="OpenAiPrimary"/> first and <see cref="OpenAiBackup"/> as its fallback, <c>claude-test</c> on
    /// <see cref="Anthropic"/>. Tests that script them reset them when done.
    /// </summary>
    public FakeOpenAiServer OpenAiPrimary { get; private set; } = null!;

    public FakeOpenAiServer OpenAiBackup { get; private set; } = null!;

    public FakeAnthropicServer Anthropic { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        OpenAiPrimary = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Name = "primary", ApiKey = "sk-primary-" + Guid.NewGuid().ToString("N") });
        OpenAiBackup = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Name = "backup", ApiKey = "sk-backup-" + Guid.NewGuid().ToString("N") });
        Anthropic = await FakeAnthropicServer.StartAsync(new FakeServerOptions { Name = "anthropic", ApiKey = "sk-ant-" + Guid.NewGuid().ToString("N") });
        string[] providers =
        [
            "--Providers:primary:Type=openai", $"--Providers:primary:BaseUrl={OpenAiPrimary.BaseUrl}", $"--Providers:primary:ApiKey={OpenAiPrimary.ApiKey}",
            "--Providers:primary:Models:0=gpt-test",
            "--Providers:backup:Type=openai", $"--Providers:backup:BaseUrl={OpenAiBackup.BaseUrl}", $"--Providers:backup:ApiKey={OpenAiBackup.ApiKey}",
            "--Providers:backup:Priority=10", "--Providers:backup:Models:0=gpt-test",
            "--Providers:anthropic:Type=anthropic", $"--Providers:anthropic:BaseUrl={Anthropic.BaseUrl}", $"--Providers:anthropic:ApiKey={Anthropic.ApiKey}",
            "--Providers:anthropic:Models:0:Id=claude-test", "--Providers:anthropic:Models:0:Upstream=claude-3-5-haiku-latest",
            "--Pricing:Models:gpt-test:PromptPer1K=2", "--Pricing:Models:gpt-test:CompletionPer1K=6",
            "--Pricing:Models:claude-test:PromptPer1K=1", "--Pricing:Models:claude-test:CompletionPer1K=5",
        ];
        _builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>(providers);
        // Two replicas share one rate-limit budget through Redis. The defaults (5 req/s per IP on /auth) would throttle
        // a test suite that all comes from 127.0.0.1, so they are raised here; the limits are tested with a key override.
        _builder.CreateResourceBuilder<ProjectResource>("gateway")
            .WithReplicas(2)
            .WithEnvironment("RateLimits__Auth__PermitsPerSecond", "1000")
            .WithEnvironment("RateLimits__Auth__Burst", "2000")
            .WithEnvironment("RateLimits__Api__PermitsPerSecond", "1000")
            .WithEnvironment("RateLimits__Api__Burst", "2000")
            // HSTS is off in Development by default; on here, so the security status of the graph has every header.
            .WithEnvironment("Gateway__SecurityHeaders__StrictTransportSecurity__Enabled", "true");
        // Revocations are replayed from authdb into Redis every minute; every 2 s here, so the test of a lost marker is quick.
        _builder.CreateResourceBuilder<ProjectResource>("auth")
            .WithEnvironment("Auth__RevocationReplayInterval", "00:00:02");
        // Reservations past their time are released every half second here (5 s by default), so expiry tests are quick.
        _builder.CreateResourceBuilder<ProjectResource>("core")
            .WithEnvironment("Credits__ExpiryInterval", "00:00:00.500")
            // Usage entries a stopped consumer left unacknowledged are taken over after 1 s here (30 s by default).
            .WithEnvironment("Usage__ClaimMinIdle", "00:00:01")
            .WithEnvironment("Usage__ClaimInterval", "00:00:00.500")
            .WithEnvironment("Usage__PollInterval", "00:00:00.100")
            // The same for response-time samples; and the retention and baseline job every 2 s (hourly by default).
            .WithEnvironment("Monitoring__ClaimMinIdle", "00:00:01")
            .WithEnvironment("Monitoring__ClaimInterval", "00:00:00.500")
            .WithEnvironment("Monitoring__PollInterval", "00:00:00.100")
            .WithEnvironment("Monitoring__MaintenanceInterval", "00:00:02");
        // The fake deployments fail on purpose in some tests; circuits opening would make later tests of the collection
        // depend on their order. Circuit breaking is covered by the router's unit tests.
        _builder.CreateResourceBuilder<ProjectResource>("mcp")
            .WithEnvironment("Routing__MinimumThroughput", "100000");
        App = await _builder.BuildAsync();
        await App.StartAsync().WaitAsync(StartTimeout);
        Gateway = App.CreateHttpClient("gateway");
    }

    /// <summary>A client of gateway replica <paramref name="replica"/> (1 or 2) with the given credentials.</summary>
    public HttpClient Client(string? bearer = null, string? apiKey = null, int replica = 1)
    {
        var client = App.CreateHttpClient(replica == 1 ? "gateway" : $"gateway-{replica}");
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-API-Key", apiKey);
        }

        return client;
    }

    public string AdminEmail => App.GetParameterValue("admin-email");

    public async Task<string> AdminTokenAsync() =>
        _adminToken ??= (await LoginAsync(AdminEmail, App.GetParameterValue("admin-password"))).AccessToken;

    public async Task<HttpClient> AdminClientAsync(int replica = 1) => Client(bearer: await AdminTokenAsync(), replica: replica);

    public async Task<TokenPair> LoginAsync(string email, string password)
    {
        using var response = await Gateway.PostAsJsonAsync("/auth/login", new { email, password });
        Assert.True(response.IsSuccessStatusCode, $"login of {email} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new TokenPair(body.GetProperty("accessToken").GetString()!, body.GetProperty("refreshToken").GetString()!);
    }

    /// <summary>Registers a new user (unique email) with role <paramref name="role"/> and logs in.</summary>
    public async Task<TestUser> NewUserAsync(string role = "user")
    {
        var email = $"u{Guid.NewGuid():N}@tests.smarthub.local";
        var password = "correct horse battery " + Guid.NewGuid().ToString("N")[..8];
        using (var response = await Gateway.PostAsJsonAsync("/auth/register", new { email, password, displayName = "Test user" }))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        }

        var tokens = await LoginAsync(email, password);
        var id = await UserIdAsync(tokens.AccessToken);
        if (role != "user")
        {
            using var admin = await AdminClientAsync();
            using var assign = await admin.PutAsJsonAsync($"/auth/admin/users/{id}/roles", new { roles = new[] { role } });
            Assert.True(assign.IsSuccessStatusCode, $"assigning {role}: {(int)assign.StatusCode} {await assign.Content.ReadAsStringAsync()}");
            tokens = await LoginAsync(email, password);
        }

        return new TestUser(id, email, password, tokens);
    }

    public async Task<string> UserIdAsync(string accessToken)
    {
        using var client = Client(bearer: accessToken);
        var me = await client.GetFromJsonAsync<JsonElement>("/auth/me");
        return me.GetProperty("id").GetString()!;
    }

    /// <summary>Creates an API key for <paramref name="user"/>; returns (id, key).</summary>
    public async Task<(string Id, string Key)> NewApiKeyAsync(TestUser user, int? rateLimitPerSecond = null, string[]? scopes = null)
    {
        using var client = Client(bearer: user.Tokens.AccessToken);
        using var response = await client.PostAsJsonAsync("/auth/api-keys", new { name = "test key", scopes, rateLimitPerSecond });
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"key creation: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        if (_builder is not null)
        {
            await _builder.DisposeAsync();
        }

        foreach (var fake in new FakeProviderServer?[] { OpenAiPrimary, OpenAiBackup, Anthropic })
        {
            if (fake is not null)
            {
                await fake.DisposeAsync();
            }
        }
    }
}

public sealed record TokenPair(string AccessToken, string RefreshToken);

public sealed record TestUser(string Id, string Email, string Password, TokenPair Tokens);

[CollectionDefinition(Name)]
public sealed class GraphCollection : ICollectionFixture<GraphFixture>
{
    public const string Name = "graph";
}
