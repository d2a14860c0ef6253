using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.AuthService.Tokens;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

/// <summary>
/// UseSmartHubAuthentication() in a real WebApplication (Kestrel on 127.0.0.1:0): it authenticates once per request,
/// in place of UseAuthentication(), and authorization, challenges and forbids work as with the standard middleware.
/// </summary>
public sealed class SmartHubAuthenticationMiddlewareTests : IAsyncLifetime, IDisposable
{
    private readonly TestSigningKey _key = new();
    private readonly CountingAuthenticationService.Counter _calls = new();
    private readonly Dictionary<string, ApiKeyIdentity> _keys = new(StringComparer.Ordinal);
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration["Internal:Token"] = new string('t', 32);
        builder.Services.AddSingleton<IJwksProvider>(new StaticJwksProvider(_key.Public));
        builder.Services.AddSingleton<IApiKeyAuthority>(new DictionaryAuthority(_keys));
        builder.Services.AddSingleton<IClaimsTransformation, TagTransformation>();
        builder.AddSmartHubAuthentication();

        // Count what goes through IAuthenticationService: UseAuthentication() would authenticate there.
        var inner = builder.Services.Single(d => d.ServiceType == typeof(IAuthenticationService));
        builder.Services.Replace(ServiceDescriptor.Scoped<IAuthenticationService>(sp => new CountingAuthenticationService(
            (IAuthenticationService)ActivatorUtilities.CreateInstance(sp, inner.ImplementationType!), _calls)));

        _app = builder.Build();
        _app.UseSmartHubAuthentication();
        _app.UseAuthorization();
        _app.MapGet("/me", (ClaimsPrincipal user) => new { sub = user.FindFirst("sub")?.Value, tag = user.FindFirst("tag")?.Value })
            .RequireAuthorization();
        _app.MapGet("/chat", () => "ok").RequirePermission(Permissions.ChatUse);
        _app.MapGet("/open", (HttpContext context) => context.User.Identity?.IsAuthenticated == true ? "known" : "anonymous");
        _app.MapGet("/result", (HttpContext context) =>
            context.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticateResultFeature>()?.AuthenticateResult?.Succeeded == true
                ? "kept" : "none");
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public void Dispose()
    {
        _client.Dispose();
        _key.Dispose();
    }

    private string Token(params string[] permissions) => AccessTokenFactory.Create(
        _key.Credentials, new TokenSubject(Guid.NewGuid(), "t@example.com", ["user"], permissions), "smarthub", "smarthub",
        DateTimeOffset.UtcNow, TimeSpan.FromMinutes(15)).Token;

    private async Task<HttpResponseMessage> GetAsync(string path, string? bearer = null, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.Add(SmartHubAuth.ApiKeyHeader, apiKey);
        }

        return await _client.SendAsync(request);
    }

    [Fact]
    public async Task A_valid_token_is_authenticated_once_by_the_middleware_and_authorized_from_its_result()
    {
        using var response = await GetAsync("/me", bearer: Token(Permissions.ChatUse));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(string.IsNullOrEmpty(body.GetProperty("sub").GetString()));
        Assert.Equal("transformed", body.GetProperty("tag").GetString()); // a registered claims transformation applies
        Assert.Equal(0, _calls.Authenticate); // WebApplication did not add UseAuthentication() on top
    }

    [Fact]
    public async Task An_api_key_in_x_api_key_is_authenticated()
    {
        var key = ApiKeyFormat.Generate();
        _keys[key] = new ApiKeyIdentity(Guid.NewGuid(), Guid.NewGuid(), "k@example.com", ["user"], ["chat:use"], ["chat:use"], null, null);

        using var response = await GetAsync("/chat", apiKey: key);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task No_credentials_are_challenged_through_the_scheme_with_a_problem()
    {
        using var response = await GetAsync("/me");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, _calls.Challenge);
    }

    [Fact]
    public async Task A_tampered_token_is_challenged_as_invalid()
    {
        var token = Token(Permissions.ChatUse);
        using var response = await GetAsync("/me", bearer: token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_permission_is_forbidden()
    {
        using var response = await GetAsync("/chat", bearer: Token(Permissions.MonitoringRead));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task The_result_is_kept_for_the_policy_evaluator_as_UseAuthentication_keeps_it()
    {
        using var response = await GetAsync("/result", bearer: Token());

        Assert.Equal("kept", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Anonymous_endpoints_see_the_identity_when_one_is_sent()
    {
        using var anonymous = await GetAsync("/open");
        using var known = await GetAsync("/open", bearer: Token());

        Assert.Equal("anonymous", await anonymous.Content.ReadAsStringAsync());
        Assert.Equal("known", await known.Content.ReadAsStringAsync());
    }

    private sealed class DictionaryAuthority(Dictionary<string, ApiKeyIdentity> keys) : IApiKeyAuthority
    {
        public Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken) => Task.FromResult(keys.GetValueOrDefault(key));
    }

    private sealed class TagTransformation : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var copy = principal.Clone();
            ((ClaimsIdentity)copy.Identity!).AddClaim(new Claim("tag", "transformed"));
            return Task.FromResult(copy);
        }
    }

    private sealed class CountingAuthenticationService(IAuthenticationService inner, CountingAuthenticationService.Counter counter) : IAuthenticationService
    {
        public sealed class Counter
        {
            public int Authenticate;
            public int Challenge;
        }

        public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
        {
            Interlocked.Increment(ref counter.Authenticate);
            return inner.AuthenticateAsync(context, scheme);
        }

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties)
        {
            Interlocked.Increment(ref counter.Challenge);
            return inner.ChallengeAsync(context, scheme, properties);
        }

        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.ForbidAsync(context, scheme, properties);

        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) =>
            inner.SignInAsync(context, scheme, principal, properties);

        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.SignOutAsync(context, scheme, properties);
    }
}
