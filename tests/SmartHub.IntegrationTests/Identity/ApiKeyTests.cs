using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

[Collection(GraphCollection.Name)]
public sealed class ApiKeyTests(GraphFixture graph)
{
    [Fact]
    public async Task Key_is_shown_once_listed_by_prefix_and_accepted_in_both_header_forms()
    {
        var user = await graph.NewUserAsync();
        var (id, key) = await graph.NewApiKeyAsync(user);

        Assert.StartsWith("shk_", key, StringComparison.Ordinal);
        Assert.True(key.Length >= 4 + 43, "at least 32 random bytes, base64url");
        using var owner = graph.Client(bearer: user.Tokens.AccessToken);
        var listed = await owner.GetStringAsync("/auth/api-keys");
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        Assert.Contains(key[4..12], listed, StringComparison.Ordinal);

        using var viaHeader = graph.Client(apiKey: key);
        var identity = await viaHeader.GetFromJsonAsync<JsonElement>("/api/v1/whoami");
        Assert.Equal(user.Id, identity.GetProperty("userId").GetString());
        Assert.Equal("api_key", identity.GetProperty("authenticationMethod").GetString());
        Assert.Equal(id, identity.GetProperty("apiKeyId").GetString());
        Assert.Equal(["chat:use"], identity.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        using var viaBearer = graph.Client(bearer: key, replica: 2);
        Assert.Equal(HttpStatusCode.OK, (await viaBearer.GetAsync("/api/status")).StatusCode);
    }

    [Fact]
    public async Task Revoked_key_stops_working_at_every_gateway_within_two_seconds()
    {
        var user = await graph.NewUserAsync();
        var (id, key) = await graph.NewApiKeyAsync(user);
        using var one = graph.Client(apiKey: key, replica: 1);
        using var two = graph.Client(apiKey: key, replica: 2);
        // Warm every cache on the way: both gateways and the services behind them.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await one.GetAsync("/api/status")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await two.GetAsync("/api/status")).StatusCode);
        }

        using var owner = graph.Client(bearer: user.Tokens.AccessToken);
        var clock = Stopwatch.StartNew();
        Assert.True((await owner.DeleteAsync($"/auth/api-keys/{id}")).IsSuccessStatusCode);

        var pending = new List<HttpClient> { one, two };
        while (pending.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            foreach (var client in pending.ToList())
            {
                using var response = await client.GetAsync("/api/status");
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    pending.Remove(client);
                }
            }

            await Task.Delay(25);
        }

        Assert.Empty(pending);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"revocation took {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Disabling_a_user_ends_their_tokens_and_keys()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var admin = await graph.AdminClientAsync();

        using var disabled = await admin.PostAsync($"/auth/admin/users/{user.Id}/disable", null);
        Assert.True(disabled.IsSuccessStatusCode, $"disable: {(int)disabled.StatusCode}");

        await Poll.UntilAsync(async () =>
        {
            using var byToken = graph.Client(bearer: user.Tokens.AccessToken, replica: 2);
            using var byKey = graph.Client(apiKey: key, replica: 1);
            return (await byToken.GetAsync("/auth/me")).StatusCode == HttpStatusCode.Unauthorized
                && (await byKey.GetAsync("/api/status")).StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(2), "the disabled user's token and key are refused");
        using var refresh = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = user.Tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        using var login = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = user.Email, password = user.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task A_key_cannot_carry_a_scope_its_owner_lacks()
    {
        var user = await graph.NewUserAsync();
        using var owner = graph.Client(bearer: user.Tokens.AccessToken);

        using var response = await owner.PostAsJsonAsync("/auth/api-keys", new { name = "too much", scopes = new[] { "users:manage" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Key_creation_and_revocation_are_audited()
    {
        var user = await graph.NewUserAsync();
        var (id, _) = await graph.NewApiKeyAsync(user);
        using var owner = graph.Client(bearer: user.Tokens.AccessToken);
        await owner.DeleteAsync($"/auth/api-keys/{id}");
        using var admin = await graph.AdminClientAsync();

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/auth/admin/audit?userId={user.Id}");

        var types = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Contains("key.created", types);
        Assert.Contains("key.revoked", types);
        Assert.Contains("login.succeeded", types);
    }
}
