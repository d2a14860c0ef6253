using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartHub.AuthService.Tokens;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

/// <summary>The schemes as AddSmartHubAuthentication() wires them, driven through HttpContext like the middleware does.</summary>
public sealed class AuthenticationPipelineTests : IDisposable
{
    private readonly TestSigningKey _key = new();
    private readonly IdentityClock _clock = new(DateTimeOffset.UtcNow);
    private readonly StubAuthority _authority = new();
    private readonly ServiceProvider _services;

    public AuthenticationPipelineTests()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Internal:Token"] = new string('t', 32) });
        builder.Services.AddLogging();
        builder.Services.AddSingleton<TimeProvider>(_clock);
        builder.Services.AddSingleton<IJwksProvider>(new StaticJwksProvider(_key.Public));
        builder.Services.AddSingleton<IApiKeyAuthority>(_authority);
        builder.AddSmartHubAuthentication();
        _services = builder.Services.BuildServiceProvider();
    }

    public void Dispose()
    {
        _services.Dispose();
        _key.Dispose();
    }

    private sealed class StubAuthority : IApiKeyAuthority
    {
        public Dictionary<string, ApiKeyIdentity> Keys { get; } = new(StringComparer.Ordinal);

        public Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken) =>
            Task.FromResult(Keys.GetValueOrDefault(key));
    }

    private DefaultHttpContext Request(string path = "/api/status", string? authorization = null, string? apiKey = null)
    {
        var context = new DefaultHttpContext { RequestServices = _services.CreateScope().ServiceProvider };
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        if (apiKey is not null)
        {
            context.Request.Headers[SmartHubAuth.ApiKeyHeader] = apiKey;
        }

        return context;
    }

    private static JsonElement Body(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return JsonDocument.Parse(context.Response.Body).RootElement.Clone();
    }

    private string Token(string[] permissions) => AccessTokenFactory.Create(
        _key.Credentials, new TokenSubject(Guid.NewGuid(), "t@example.com", ["user"], permissions), "smarthub", "smarthub", _clock.Now, TimeSpan.FromMinutes(15)).Token;

    [Fact]
    public async Task A_valid_jwt_authenticates_through_the_default_scheme()
    {
        var context = Request(authorization: "Bearer " + Token(["chat:use"]));

        var result = await context.AuthenticateAsync();

        Assert.True(result.Succeeded);
        Assert.Equal("t@example.com", result.Principal!.Identity!.Name);
        Assert.True(result.Principal.HasClaim("permission", "chat:use"));
    }

    [Fact]
    public async Task An_api_key_authenticates_in_either_header()
    {
        var key = ApiKeyFormat.Generate();
        _authority.Keys[key] = new ApiKeyIdentity(Guid.NewGuid(), Guid.NewGuid(), "k@example.com", ["user"], ["chat:use"], ["chat:use"], null, null);

        var viaBearer = await Request(authorization: "Bearer " + key).AuthenticateAsync();
        var viaHeader = await Request(apiKey: key).AuthenticateAsync();

        Assert.True(viaBearer.Succeeded);
        Assert.True(viaHeader.Succeeded);
        Assert.Equal("api_key", viaHeader.Principal!.FindFirst("amr")!.Value);
    }

    [Fact]
    public async Task An_expired_api_key_is_refused_even_from_the_cache()
    {
        var key = ApiKeyFormat.Generate();
        _authority.Keys[key] = new ApiKeyIdentity(Guid.NewGuid(), Guid.NewGuid(), "k@example.com", ["user"], ["chat:use"], ["chat:use"], null,
            _clock.Now.AddMilliseconds(500));
        Assert.True((await Request(apiKey: key).AuthenticateAsync()).Succeeded);

        _clock.Advance(TimeSpan.FromMilliseconds(600));

        Assert.False((await Request(apiKey: key).AuthenticateAsync()).Succeeded);
    }

    [Fact]
    public async Task No_credentials_challenge_with_a_plain_bearer_401_problem()
    {
        var context = Request();

        await context.ChallengeAsync();

        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("Bearer", context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Equal(SmartHubProblemTypes.Unauthenticated, Body(context).GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_bad_token_challenges_with_invalid_token()
    {
        var context = Request(authorization: "Bearer " + Token(["chat:use"])[..^4] + "AAAA");

        Assert.False((await context.AuthenticateAsync()).Succeeded);
        await context.ChallengeAsync();

        Assert.Equal(401, context.Response.StatusCode);
        Assert.StartsWith("Bearer error=\"invalid_token\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(SmartHubProblemTypes.InvalidToken, Body(context).GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_unknown_api_key_challenges_with_invalid_token()
    {
        var context = Request(apiKey: ApiKeyFormat.Generate());

        await context.ChallengeAsync();

        Assert.Equal(401, context.Response.StatusCode);
        Assert.StartsWith("Bearer error=\"invalid_token\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(SmartHubProblemTypes.InvalidApiKey, Body(context).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Forbidden_is_a_403_problem_with_insufficient_scope()
    {
        var context = Request(authorization: "Bearer " + Token(["chat:use"]));

        await context.ForbidAsync();

        Assert.Equal(403, context.Response.StatusCode);
        Assert.Contains("insufficient_scope", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(SmartHubProblemTypes.Forbidden, Body(context).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Under_v1_errors_take_the_openai_shape()
    {
        var context = Request(path: "/v1/chat/completions", authorization: "Bearer garbage");

        await context.ChallengeAsync();

        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("authentication_error", Body(context).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public void Every_permission_has_a_perm_policy()
    {
        var options = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>>().Value;

        foreach (var permission in Permissions.All)
        {
            Assert.NotNull(options.GetPolicy("perm:" + permission));
        }

        Assert.Null(options.FallbackPolicy);
    }
}
