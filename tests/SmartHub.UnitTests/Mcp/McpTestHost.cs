using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Mcp;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Mcp;

/// <summary>
/// McpServer's /mcp in a real Kestrel on 127.0.0.1:0, built from its own extension methods (<c>AddMcp</c>,
/// <c>MapMcp</c>) with SmartHub's authentication, but with API keys from <see cref="McpKeyAuthority"/>, the chat
/// pipeline of <see cref="FakeChatService"/>, and CoreService's two user endpoints faked in the same app (answering
/// with the caller they saw, so forwarding is checked).
/// </summary>
public abstract class McpTestHost : IAsyncLifetime
{
    private WebApplication? _app;

    internal McpKeyAuthority Keys { get; } = new();

    internal FakeChatService Chat { get; } = new();

    public Uri Endpoint { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    internal McpSessionStore Sessions => _app!.Services.GetRequiredService<McpSessionStore>();

    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Development,
            ApplicationName = "SmartHub.McpServer",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Internal:Token"] = new string('t', 32),
            ["Providers:mock:Type"] = "mock",
            ["Providers:mock:Models:0"] = "mock-fast",
            ["Providers:mock:Models:1"] = "mock-smart",
        });
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.Logging.ClearProviders();
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<IJwksProvider, NoJwks>();
        builder.Services.AddSingleton<IApiKeyAuthority>(Keys);
        builder.AddSmartHubAuthentication();
        builder.AddMcp();
        builder.Services.AddSingleton(ModelCatalog.Load(builder.Configuration.GetSection(ModelCatalog.SectionName)));
        builder.Services.AddSingleton<IChatService>(Chat);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.UseSmartHubAuthentication();
        app.UseAuthorization();
        app.MapMcp();
        app.MapGet("/api/v1/credits/balance", (HttpContext context) => Results.Json(new
        {
            balance = 1000,
            reserved = 0,
            available = 1000,
            currency = "credits",
            userId = context.User.UserId(),
            viaApiKeyHeader = context.Request.Headers.ContainsKey(SmartHubAuth.ApiKeyHeader),
        })).RequireAuthorization();
        app.MapGet("/api/v1/usage", (HttpContext context) => context.Request.Query["groupBy"] == "week"
            ? Results.Problem(title: "Invalid query", detail: "groupBy must be day, model or apiKey.", statusCode: 400)
            : Results.Json(new { userId = context.User.UserId(), query = context.Request.QueryString.Value })).RequireAuthorization();

        await app.StartAsync();
        var address = app.Urls.First();
        // Service discovery of http://core, resolved per request: the fake CoreService is this app.
        app.Configuration["services:core:http:0"] = address;
        _app = app;
        Endpoint = new Uri(address + "/mcp");
        Http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>The official C# client over Streamable HTTP with an API key; 2025-06-18 unless told otherwise (null: the SDK's default).</summary>
    public async Task<McpClient> ConnectAsync(string apiKey, string? protocolVersion = "2025-06-18")
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { [SmartHubAuth.ApiKeyHeader] = apiKey },
        });
        var options = new McpClientOptions();
        if (protocolVersion is not null)
        {
            options.ProtocolVersion = protocolVersion;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await McpClient.CreateAsync(transport, options, cancellationToken: timeout.Token);
    }

    /// <summary>A raw POST to /mcp; the defaults are what a well-behaved client sends.</summary>
    public Task<HttpResponseMessage> PostAsync(
        string body,
        string? apiKey,
        string? sessionId = null,
        string? accept = "application/json, text/event-stream",
        string contentType = "application/json",
        string? protocolVersion = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(contentType)),
        };
        return SendAsync(request, apiKey, sessionId, accept, protocolVersion);
    }

    public Task<HttpResponseMessage> SendAsync(
        HttpRequestMessage request,
        string? apiKey,
        string? sessionId = null,
        string? accept = "application/json, text/event-stream",
        string? protocolVersion = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (apiKey is not null)
        {
            request.Headers.Add(SmartHubAuth.ApiKeyHeader, apiKey);
        }

        if (sessionId is not null)
        {
            request.Headers.Add(McpHttpHandler.SessionIdHeader, sessionId);
        }

        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        if (protocolVersion is not null)
        {
            request.Headers.Add(McpHttpHandler.ProtocolVersionHeader, protocolVersion);
        }

        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static string Initialize(int id = 1) =>
        $$$$"""{"jsonrpc":"2.0","id":{{{{id}}}},"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";

    public static string ToolsList(int id = 2) => $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/list","params":{}}""";
}

/// <summary>Sessions (the default), with a small body limit so the 413 test is cheap.</summary>
public sealed class StatefulMcpHost : McpTestHost
{
    public const int BodyLimit = 64 * 1024;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Mcp:MaxRequestBodyBytes", BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Mcp:AllowedOrigins:0", AllowedOrigin),
    ];

    public const string AllowedOrigin = "https://tools.example.com";
}

/// <summary>Mcp:Stateless=true.</summary>
public sealed class StatelessMcpHost : McpTestHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Mcp:Stateless", "true")];
}
