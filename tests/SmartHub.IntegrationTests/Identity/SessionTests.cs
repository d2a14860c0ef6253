using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>Sessions: a logout (or a stolen refresh token) ends the session's access tokens too, everywhere, and stays ended.</summary>
[Collection(GraphCollection.Name)]
public sealed class SessionTests(GraphFixture graph)
{
    private static readonly TimeSpan RevocationDeadline = TimeSpan.FromSeconds(2);

    private async Task<HttpStatusCode> MeAsync(string accessToken, int replica)
    {
        using var client = graph.Client(bearer: accessToken, replica: replica);
        using var response = await client.GetAsync("/auth/me");
        return response.StatusCode;
    }

    private async Task AssertEndedEverywhereAsync(string accessToken, TimeSpan within, string what) =>
        await Poll.UntilAsync(
            async () => await MeAsync(accessToken, 1) == HttpStatusCode.Unauthorized && await MeAsync(accessToken, 2) == HttpStatusCode.Unauthorized,
            within, what);

    [Fact]
    public async Task Logout_ends_the_sessions_access_and_refresh_tokens_on_every_gateway_within_2_s()
    {
        var user = await graph.NewUserAsync();
        var other = await graph.LoginAsync(user.Email, user.Password); // a second session of the same user
        Assert.Equal(HttpStatusCode.OK, await MeAsync(user.Tokens.AccessToken, 2));
        Assert.True(Tokens.Payload(user.Tokens.AccessToken).TryGetProperty("sid", out _), "access tokens name their session");

        using (var client = graph.Client(bearer: user.Tokens.AccessToken))
        using (var logout = await client.PostAsync("/auth/logout", null)) // no body: the token's own session
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the logged-out access token is refused");
        using (var refresh = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await MeAsync(other.AccessToken, 1)); // only that session ended
    }

    [Fact]
    public async Task Reusing_a_refresh_token_also_ends_the_sessions_access_tokens()
    {
        var user = await graph.NewUserAsync();
        using var rotated = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = user.Tokens.RefreshToken });
        var newAccess = (await rotated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await MeAsync(newAccess, 1));

        using var reuse = await graph.Gateway.PostAsJsonAsync("/auth/refresh", new { refreshToken = user.Tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.Unauthorized, reuse.StatusCode);

        await AssertEndedEverywhereAsync(newAccess, RevocationDeadline + TimeSpan.FromSeconds(1), "the thief's (or owner's) access token is refused");
        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the first access token is refused");
    }

    [Fact]
    public async Task A_revocation_lost_from_redis_is_written_again_from_the_database()
    {
        var user = await graph.NewUserAsync();
        using (var client = graph.Client(bearer: user.Tokens.AccessToken))
        using (var logout = await client.PostAsync("/auth/logout", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the logged-out token is refused");

        // Redis forgets the marker (data loss, or an AuthService that crashed with the write still queued).
        var sid = Tokens.Payload(user.Tokens.AccessToken).GetProperty("sid").GetString()!;
        await using (var redis = await RedisConnection.ConnectAsync(RedisOptions.Parse((await graph.App.GetConnectionStringAsync("cache"))!)))
        {
            await redis.DeleteAsync("auth:session-revoked:" + sid);
            await Poll.UntilAsync(async () => await redis.KeyExistsAsync("auth:session-revoked:" + sid), TimeSpan.FromSeconds(10), "the marker is replayed from authdb");
        }

        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, TimeSpan.FromSeconds(3), "the token is refused again");
    }

    [Fact]
    public async Task Logout_with_an_api_key_must_name_the_session()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(apiKey: key);

        using var bare = await client.PostAsync("/auth/logout", null);
        Assert.Equal(HttpStatusCode.BadRequest, bare.StatusCode);

        using var named = await client.PostAsJsonAsync("/auth/logout", new { refreshToken = user.Tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.NoContent, named.StatusCode);
        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the named session's token is refused");
    }

    [Fact]
    public async Task Changing_the_password_ends_every_session_but_keeps_api_keys()
    {
        var user = await graph.NewUserAsync();
        var other = await graph.LoginAsync(user.Email, user.Password);
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);

        using (var wrong = await client.PostAsJsonAsync("/auth/password", new { currentPassword = "not the password at all", newPassword = "a brand new passphrase" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        }

        using (var weak = await client.PostAsJsonAsync("/auth/password", new { currentPassword = user.Password, newPassword = "short" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        }

        const string newPassword = "a brand new passphrase";
        using var changed = await client.PostAsJsonAsync("/auth/password", new { currentPassword = user.Password, newPassword });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var fresh = (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;

        await AssertEndedEverywhereAsync(other.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the other session's token is refused");
        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, RevocationDeadline + TimeSpan.FromSeconds(1), "the caller's old token is refused");
        Assert.Equal(HttpStatusCode.OK, await MeAsync(fresh, 1));
        using (var keyClient = graph.Client(apiKey: key))
        using (var viaKey = await keyClient.GetAsync("/auth/me"))
        {
            Assert.Equal(HttpStatusCode.OK, viaKey.StatusCode);
        }

        using (var oldLogin = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = user.Email, password = user.Password }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, oldLogin.StatusCode);
        }

        await graph.LoginAsync(user.Email, newPassword);
    }

    [Fact]
    public async Task An_api_key_cannot_change_the_password()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(apiKey: key);

        using var response = await client.PostAsJsonAsync("/auth/password", new { currentPassword = user.Password, newPassword = "a brand new passphrase" });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task A_disabled_user_enabled_again_can_sign_in_but_old_sessions_stay_ended()
    {
        var user = await graph.NewUserAsync();
        using var admin = await graph.AdminClientAsync();
        using (var disabled = await admin.PostAsync($"/auth/admin/users/{user.Id}/disable", null))
        {
            Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        }

        using (var refused = await graph.Gateway.PostAsJsonAsync("/auth/login", new { email = user.Email, password = user.Password }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var enabled = await admin.PostAsync($"/auth/admin/users/{user.Id}/enable", null))
        {
            Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
            var body = await enabled.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(!body.TryGetProperty("disabledAt", out var disabledAt) || disabledAt.ValueKind == JsonValueKind.Null, body.ToString());
        }

        await graph.LoginAsync(user.Email, user.Password);
        await AssertEndedEverywhereAsync(user.Tokens.AccessToken, TimeSpan.FromSeconds(3), "the session from before the disable stays ended");

        using var unknown = await admin.PostAsync($"/auth/admin/users/{Guid.NewGuid()}/enable", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Anonymous_logout_and_password_change_are_refused()
    {
        using var logout = await graph.Gateway.PostAsync("/auth/logout", null);
        using var password = await graph.Gateway.PostAsJsonAsync("/auth/password", new { currentPassword = "x", newPassword = "y" });

        Assert.Equal(HttpStatusCode.Unauthorized, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, password.StatusCode);
    }
}
