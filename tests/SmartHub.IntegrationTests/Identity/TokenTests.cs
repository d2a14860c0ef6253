using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

[Collection(GraphCollection.Name)]
public sealed class TokenTests(GraphFixture graph)
{
    private async Task AssertRejectedAsync(string token, string what)
    {
        foreach (var replica in new[] { 1, 2 })
        {
            using var client = graph.Client(bearer: token, replica: replica);
            using var response = await client.GetAsync("/auth/me");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: expected 401 from gateway {replica}, got {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_valid_token_carries_the_promised_claims_and_works_on_both_replicas()
    {
        var user = await Callers.UserAsync(graph);
        var payload = Tokens.Payload(user.Tokens.AccessToken);

        Assert.Equal(user.Id, payload.GetProperty("sub").GetString());
        Assert.Equal(user.Email, payload.GetProperty("email").GetString());
        Assert.True(payload.TryGetProperty("jti", out _));
        Assert.Equal(15 * 60, payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64());
        foreach (var replica in new[] { 1, 2 })
        {
            using var client = graph.Client(bearer: user.Tokens.AccessToken, replica: replica);
            var me = await client.GetFromJsonAsync<JsonElement>("/auth/me");
            Assert.Equal(user.Email, me.GetProperty("email").GetString());
            Assert.Contains("chat:use", me.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        }
    }

    [Fact]
    public async Task Tampered_payload_is_rejected() =>
        await AssertRejectedAsync(Tokens.WithPayloadEdited((await Callers.UserAsync(graph)).Tokens.AccessToken, p => p["role"] = new JsonArray("admin")), "roles raised in the payload");

    [Fact]
    public async Task Alg_none_is_rejected() =>
        await AssertRejectedAsync(Tokens.AlgNone((await Callers.UserAsync(graph)).Tokens.AccessToken), "alg none");

    [Fact]
    public async Task Hs256_signed_with_the_public_key_is_rejected()
    {
        var jwks = await graph.Gateway.GetFromJsonAsync<JsonElement>("/auth/.well-known/jwks.json");
        await AssertRejectedAsync(Tokens.Hs256WithPublicKey((await Callers.UserAsync(graph)).Tokens.AccessToken, jwks.GetProperty("keys")[0].GetRawText()), "HS256 with the public key");
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_rejected_whatever_kid_it_names()
    {
        await AssertRejectedAsync(Tokens.SignedWithForeignKey(await Callers.KidAsync(graph), "admin"), "foreign key, real kid");
        await AssertRejectedAsync(Tokens.SignedWithForeignKey("no-such-kid", "admin"), "foreign key, unknown kid");
    }

    /// <summary>The control for the tests below: minted with the hub's key, right times and audience, it is accepted.</summary>
    [Fact]
    public async Task A_token_minted_with_the_hub_key_is_accepted()
    {
        var user = await Callers.UserAsync(graph);
        var now = DateTimeOffset.UtcNow;
        var token = await Tokens.SignedWithHubKeyAsync(graph, user.Id, user.Email, ["user"], now.AddSeconds(-5), now.AddMinutes(5));

        using var client = graph.Client(bearer: token, replica: 2);
        using var response = await client.GetAsync("/api/v1/whoami");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Expired_token_is_rejected() =>
        await AssertRejectedAsync(await Callers.ExpiredTokenAsync(graph), "expired an hour ago");

    [Fact]
    public async Task Token_for_another_audience_is_rejected()
    {
        var user = await Callers.UserAsync(graph);
        var now = DateTimeOffset.UtcNow;
        await AssertRejectedAsync(await Tokens.SignedWithHubKeyAsync(graph, user.Id, user.Email, ["user"], now, now.AddMinutes(5), audience: "another-app"), "wrong audience");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9..")]
    public async Task Malformed_token_is_rejected(string token) => await AssertRejectedAsync(token, $"malformed '{token}'");

    [Fact]
    public async Task Reusing_a_refresh_token_revokes_its_whole_family()
    {
        var user = await graph.NewUserAsync();
        var first = user.Tokens.RefreshToken;

        using var rotated = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = first });
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var second = (await rotated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshToken").GetString()!;
        Assert.NotEqual(first, second);

        using var reuse = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = first });
        Assert.Equal(HttpStatusCode.Unauthorized, reuse.StatusCode);

        using var afterTheft = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = second });
        Assert.Equal(HttpStatusCode.Unauthorized, afterTheft.StatusCode);
    }

    [Fact]
    public async Task Five_failed_logins_lock_the_account_without_saying_so()
    {
        var user = await graph.NewUserAsync();
        string? firstFailure = null;
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = user.Email, password = "wrong password " + i });
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            firstFailure ??= (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        }

        using var right = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = user.Email, password = user.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, right.StatusCode);
        Assert.Equal(firstFailure, (await right.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        using var unknown = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = $"nobody{Guid.NewGuid():N}@tests.smarthub.local", password = "whatever password" });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(firstFailure, (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        using var admin = await graph.AdminClientAsync();
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/auth/admin/audit?userId={user.Id}&type=login.locked");
        Assert.NotEmpty(audit.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Registering_an_existing_email_looks_exactly_like_a_new_registration()
    {
        var user = await graph.NewUserAsync();

        using var again = await graph.Gateway.PostAsJsonAsync("/auth/register", new { email = user.Email.ToUpperInvariant(), password = "another long password" });
        using var fresh = await graph.Gateway.PostAsJsonAsync("/auth/register", new { email = $"n{Guid.NewGuid():N}@tests.smarthub.local", password = "another long password" });

        Assert.Equal(fresh.StatusCode, again.StatusCode);
        Assert.Equal(
            JsonNode.Parse(await fresh.Content.ReadAsStringAsync())!.AsObject().Select(p => p.Key).Order(),
            JsonNode.Parse(await again.Content.ReadAsStringAsync())!.AsObject().Select(p => p.Key).Order());
        // The original password still works: nothing was overwritten.
        await graph.LoginAsync(user.Email, user.Password);
    }
}
