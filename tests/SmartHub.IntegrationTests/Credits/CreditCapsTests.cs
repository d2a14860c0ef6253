using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;
using static SmartHub.IntegrationTests.Credits.LedgerCalls;

namespace SmartHub.IntegrationTests.Credits;

/// <summary>
/// Monthly caps against the running graph: set through the gateway (a user on their own keys, an admin on anyone),
/// enforced by the internal reserve as McpServer calls it, and the ledger invariant checked after credits moved.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class CreditCapsTests(GraphFixture graph)
{
    private const string Problems = "https://smarthub.local/problems/";

    [Fact]
    public async Task A_user_cap_refuses_a_reservation_over_it_and_removing_it_allows_the_reservation()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        using var admin = await graph.AdminClientAsync();
        var spent = await ReserveAsync(core, user.Id, 200);
        await CaptureAsync(core, spent, 100);

        var capped = await PutCapAsync(admin, $"/api/v1/admin/credits/caps/users/{user.Id}", 300);
        Assert.Equal(300, capped.GetProperty("monthlyCap").GetInt64());
        Assert.Equal(100, capped.GetProperty("monthSpent").GetInt64());

        using (var refused = await TryReserveAsync(core, user.Id, 201))
        {
            await AssertCapRefusalAsync(refused, "user", cap: 300, spent: 100);
        }

        await ReserveAsync(core, user.Id, 200); // 100 spent + 200 = the cap exactly
        var uncapped = await PutCapAsync(admin, $"/api/v1/admin/credits/caps/users/{user.Id}", null);
        Assert.Equal(JsonValueKind.Null, uncapped.GetProperty("monthlyCap").ValueKind);
        Assert.Equal(200, uncapped.GetProperty("held").GetInt64());
        await ReserveAsync(core, user.Id, 201);
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task A_key_cap_set_after_spending_counts_what_the_key_spent_and_holds()
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        var (otherKeyId, _) = await graph.NewApiKeyAsync(user);
        using var core = graph.CoreClient();
        await CaptureAsync(core, await ReserveAsync(core, user.Id, 300, apiKeyId: keyId), 200);
        await CaptureAsync(core, await ReserveAsync(core, user.Id, 40, apiKeyId: otherKeyId), 40);
        var held = await ReserveAsync(core, user.Id, 100, apiKeyId: keyId);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);

        var caps = await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", 350);

        var keyCap = Assert.Single(caps.GetProperty("apiKeys").EnumerateArray());
        Assert.Equal(Guid.Parse(keyId), keyCap.GetProperty("apiKeyId").GetGuid());
        Assert.Equal(350, keyCap.GetProperty("monthlyCap").GetInt64());
        Assert.Equal(200, keyCap.GetProperty("monthSpent").GetInt64());
        Assert.Equal(100, keyCap.GetProperty("held").GetInt64());
        Assert.Equal(240, caps.GetProperty("monthSpent").GetInt64());
        Assert.Equal(JsonValueKind.Null, caps.GetProperty("monthlyCap").ValueKind);
        using (var refused = await TryReserveAsync(core, user.Id, 51, apiKeyId: keyId))
        {
            await AssertCapRefusalAsync(refused, "apiKey", cap: 350, spent: 300);
        }

        await ReserveAsync(core, user.Id, 50, apiKeyId: keyId);
        await ReserveAsync(core, user.Id, 51, apiKeyId: otherKeyId); // the cap is the key's, not the user's
        await ReserveAsync(core, user.Id, 51);

        // Changing a cap keeps the counters that reserve, capture and release maintain.
        await ReleaseAsync(core, held);
        var raised = await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", 500);
        keyCap = Assert.Single(raised.GetProperty("apiKeys").EnumerateArray());
        Assert.Equal(500, keyCap.GetProperty("monthlyCap").GetInt64());
        Assert.Equal(200, keyCap.GetProperty("monthSpent").GetInt64());
        Assert.Equal(50, keyCap.GetProperty("held").GetInt64());
        Assert.Equal(raised.ToString(), (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps")).ToString());

        var removed = await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", null);
        Assert.Equal(0, removed.GetProperty("apiKeys").GetArrayLength());
        await ReserveAsync(core, user.Id, 400, apiKeyId: keyId);
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task A_key_cap_set_while_the_key_spends_counts_every_charge_exactly_once()
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        using var core = graph.CoreClient();
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var firstCharge = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Four callers reserve and capture through the key while the cap is set: each charge must land either in the
        // count the new cap starts from or in the counter it then maintains, never in both or neither.
        var spenders = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await CaptureAsync(core, await ReserveAsync(core, user.Id, 5, apiKeyId: keyId), 3);
                firstCharge.TrySetResult();
            }
        })));
        await firstCharge.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", 1_000_000);
        await spenders.WaitAsync(TimeSpan.FromSeconds(60));

        var keyCap = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps")).GetProperty("apiKeys").EnumerateArray());
        Assert.Equal(4 * 15 * 3, keyCap.GetProperty("monthSpent").GetInt64());
        Assert.Equal(0, keyCap.GetProperty("held").GetInt64());
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Capping_a_key_of_another_user_is_404_like_a_key_that_does_not_exist()
    {
        var owner = await graph.NewUserAsync();
        var stranger = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(owner);
        using var client = graph.Client(bearer: stranger.Tokens.AccessToken);

        using var foreign = await PutAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", """{"monthlyCap":1}""");
        using var missing = await PutAsync(client, $"/api/v1/credits/caps/api-keys/{Guid.NewGuid()}", """{"monthlyCap":1}""");

        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var problem = await foreign.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Problems + "unknown-api-key", problem.GetProperty("type").GetString());
        Assert.Equal(
            (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString(), problem.GetProperty("type").GetString());
        using var asOwner = graph.Client(bearer: owner.Tokens.AccessToken);
        Assert.Equal(0, (await asOwner.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps")).GetProperty("apiKeys").GetArrayLength());
    }

    [Fact]
    public async Task An_api_key_reads_caps_but_cannot_set_them()
    {
        var user = await graph.NewUserAsync();
        var (keyId, key) = await graph.NewApiKeyAsync(user);
        using var asKey = graph.Client(apiKey: key);

        using var raise = await PutAsync(asKey, $"/api/v1/credits/caps/api-keys/{keyId}", """{"monthlyCap":1000000}""");
        var caps = await asKey.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps");

        Assert.Equal(HttpStatusCode.Forbidden, raise.StatusCode);
        var problem = await raise.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Problems + "session-required", problem.GetProperty("type").GetString());
        Assert.Contains("access token", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(Guid.Parse(user.Id), caps.GetProperty("userId").GetGuid());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), caps.GetProperty("month").GetString());
        Assert.Equal(0, caps.GetProperty("apiKeys").GetArrayLength());
    }

    [Fact]
    public async Task An_admin_caps_a_user_and_their_keys_and_the_user_sees_it()
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        using var admin = await graph.AdminClientAsync();

        await PutCapAsync(admin, $"/api/v1/admin/credits/caps/users/{user.Id}", 1_000_000_000_000);
        var afterKey = await PutCapAsync(admin, $"/api/v1/admin/credits/caps/api-keys/{keyId}", 25);
        var seenByAdmin = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/credits/caps/users/{user.Id}");
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var seenByUser = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps");

        Assert.Equal(Guid.Parse(user.Id), afterKey.GetProperty("userId").GetGuid());
        Assert.Equal(1_000_000_000_000, seenByAdmin.GetProperty("monthlyCap").GetInt64());
        Assert.Equal(25, Assert.Single(seenByAdmin.GetProperty("apiKeys").EnumerateArray()).GetProperty("monthlyCap").GetInt64());
        Assert.Equal(seenByAdmin.ToString(), seenByUser.ToString());
        Assert.Equal(afterKey.ToString(), seenByUser.ToString());
        using var core = graph.CoreClient();
        using (var refused = await TryReserveAsync(core, user.Id, 26, apiKeyId: keyId))
        {
            await AssertCapRefusalAsync(refused, "apiKey", cap: 25, spent: 0);
        }

        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Admin_caps_of_unknown_users_and_keys_are_404_and_need_credits_grant()
    {
        var user = await graph.NewUserAsync();
        using var admin = await graph.AdminClientAsync();

        using var setUnknownUser = await PutAsync(admin, $"/api/v1/admin/credits/caps/users/{Guid.NewGuid()}", """{"monthlyCap":5}""");
        using var getUnknownUser = await admin.GetAsync($"/api/v1/admin/credits/caps/users/{Guid.NewGuid()}");
        using var setUnknownKey = await PutAsync(admin, $"/api/v1/admin/credits/caps/api-keys/{Guid.NewGuid()}", """{"monthlyCap":5}""");
        using var asUser = graph.Client(bearer: user.Tokens.AccessToken);
        using var notAdmin = await PutAsync(asUser, $"/api/v1/admin/credits/caps/users/{user.Id}", """{"monthlyCap":5}""");
        // A user the ledger has not met yet has no caps and nothing spent; reading them opens nothing.
        var fresh = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/credits/caps/users/{user.Id}");

        Assert.Equal(HttpStatusCode.NotFound, setUnknownUser.StatusCode);
        Assert.Equal(Problems + "unknown-user", (await setUnknownUser.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.NotFound, getUnknownUser.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, setUnknownKey.StatusCode);
        Assert.Equal(Problems + "unknown-api-key", (await setUnknownKey.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
        Assert.Equal(JsonValueKind.Null, fresh.GetProperty("monthlyCap").ValueKind);
        Assert.Equal(0, fresh.GetProperty("monthSpent").GetInt64());
    }

    [Fact]
    public async Task A_revoked_key_takes_no_new_cap_but_can_lose_one()
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", 10);
        using (var revoke = await client.DeleteAsync($"/auth/api-keys/{keyId}"))
        {
            Assert.True(revoke.IsSuccessStatusCode, $"revoking: {(int)revoke.StatusCode}");
        }

        using var raise = await PutAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", """{"monthlyCap":20}""");
        Assert.Equal(HttpStatusCode.Conflict, raise.StatusCode);
        Assert.Equal(Problems + "api-key-revoked", (await raise.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        var removed = await PutCapAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", null);
        Assert.Equal(0, removed.GetProperty("apiKeys").GetArrayLength());
    }

    [Theory]
    [InlineData("""{}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":0}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":-5}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":1000000000001}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":99999999999999999999}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":1.5}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":"100"}""", "monthlyCap")]
    [InlineData("""{"monthlyCap":100,"scope":"key"}""", "scope")]
    [InlineData("""{"monthlyCap":5,""", "body")]
    [InlineData("""null""", "body")]
    [InlineData("""[100]""", "body")]
    public async Task Bad_caps_are_400_naming_the_field(string json, string field)
    {
        var user = await graph.NewUserAsync();
        var (keyId, _) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        using var admin = await graph.AdminClientAsync();

        using var own = await PutAsync(client, $"/api/v1/credits/caps/api-keys/{keyId}", json);
        using var asAdmin = await PutAsync(admin, $"/api/v1/admin/credits/caps/users/{user.Id}", json);

        foreach (var response in new[] { own, asAdmin })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(Problems + "validation", problem.GetProperty("type").GetString());
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        }

        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/caps")).GetProperty("apiKeys").GetArrayLength());
    }

    [Fact]
    public async Task A_cap_body_must_be_json()
    {
        var user = await graph.NewUserAsync();
        using var admin = await graph.AdminClientAsync();
        using var content = new StringContent("monthlyCap=5", Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await admin.PutAsync($"/api/v1/admin/credits/caps/users/{user.Id}", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("body", out _));
    }

    private static async Task<HttpResponseMessage> PutAsync(HttpClient client, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await client.PutAsync(path, content);
    }

    /// <summary>Sets a cap (null removes it) and returns the owner's caps afterwards.</summary>
    private static async Task<JsonElement> PutCapAsync(HttpClient client, string path, long? monthlyCap)
    {
        using var response = await client.PutAsJsonAsync(path, new { monthlyCap });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task AssertCapRefusalAsync(HttpResponseMessage response, string scope, long cap, long spent)
    {
        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Problems + "monthly-cap-exceeded", problem.GetProperty("type").GetString());
        Assert.Equal(scope, problem.GetProperty("scope").GetString());
        Assert.Equal(cap, problem.GetProperty("cap").GetInt64());
        Assert.Equal(spent, problem.GetProperty("spent").GetInt64());
    }

    private static async Task CaptureAsync(HttpClient core, JsonElement reservation, long actualAmount)
    {
        using var response = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(reservation), actualAmount });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task ReleaseAsync(HttpClient core, JsonElement reservation)
    {
        using var response = await core.PostAsJsonAsync("/internal/credits/release", new { reservationId = Id(reservation) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
