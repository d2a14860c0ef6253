using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;
using static SmartHub.IntegrationTests.Credits.LedgerCalls;

namespace SmartHub.IntegrationTests.Credits;

/// <summary>
/// The credits ledger against the running graph: the internal reserve/capture/release API as McpServer calls it (on
/// CoreService directly, with the internal token), the user and admin API through the gateway, and the invariant
/// (balance = sum of entries, reserved = sum of held reservations) checked after every test that moves credits.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class CreditsTests(GraphFixture graph)
{
    private const long SignupGrant = 1_000;

    [Fact]
    public async Task A_new_user_sees_the_signup_grant_once()
    {
        var user = await graph.NewUserAsync();
        using var client = graph.Client(bearer: user.Tokens.AccessToken);

        var first = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
        var again = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");

        Assert.Equal(SignupGrant, first.GetProperty("balance").GetInt64());
        Assert.Equal(0, first.GetProperty("reserved").GetInt64());
        Assert.Equal(SignupGrant, first.GetProperty("available").GetInt64());
        Assert.Equal("credits", first.GetProperty("currency").GetString());
        Assert.Equal(SignupGrant, again.GetProperty("balance").GetInt64());
        var entries = await EntriesAsync(client);
        var grant = Assert.Single(entries);
        Assert.Equal("grant", grant.GetProperty("kind").GetString());
        Assert.Equal("signup grant", grant.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Reserve_then_capture_charges_the_actual_amount_and_returns_the_rest()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();

        var reservation = await ReserveAsync(core, user.Id, 300);
        Assert.Equal("held", reservation.GetProperty("status").GetString());
        Assert.Equal(300, reservation.GetProperty("reserved").GetInt64());
        Assert.Equal(SignupGrant - 300, reservation.GetProperty("available").GetInt64());

        using var capture = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(reservation), actualAmount = 120 });
        Assert.Equal(HttpStatusCode.OK, capture.StatusCode);
        var settled = await capture.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("captured", settled.GetProperty("status").GetString());
        Assert.Equal(120, settled.GetProperty("charged").GetInt64());
        Assert.Equal(SignupGrant - 120, settled.GetProperty("balance").GetInt64());
        Assert.Equal(0, settled.GetProperty("reserved").GetInt64());

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var kinds = (await EntriesAsync(client)).Select(e => (e.GetProperty("kind").GetString(), e.GetProperty("amount").GetInt64()));
        Assert.Equal([("capture", -120L), ("reserve", 0L), ("grant", SignupGrant)], kinds);
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Replays_return_the_first_result_and_change_nothing()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        var requestId = "req-" + Guid.NewGuid();

        var first = await ReserveAsync(core, user.Id, 200, requestId);
        using var replay = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = user.Id, amount = 200, requestId });
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var second = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Id(first), Id(second));
        Assert.True(second.GetProperty("replayed").GetBoolean());
        Assert.Equal(200, second.GetProperty("reserved").GetInt64());

        using var other = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = user.Id, amount = 201, requestId });
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);

        for (var i = 0; i < 3; i++)
        {
            using var capture = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(first), actualAmount = 50 });
            Assert.Equal(HttpStatusCode.OK, capture.StatusCode);
            Assert.Equal(i > 0, (await capture.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetBoolean());
        }

        using var differentAmount = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(first), actualAmount = 51 });
        Assert.Equal(HttpStatusCode.Conflict, differentAmount.StatusCode);
        using var release = await core.PostAsJsonAsync("/internal/credits/release", new { reservationId = Id(first) });
        Assert.Equal(HttpStatusCode.Conflict, release.StatusCode);

        Assert.Equal(SignupGrant - 50, await BalanceAsync(user));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Release_returns_the_whole_hold_and_is_idempotent()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        var reservation = await ReserveAsync(core, user.Id, 400);

        for (var i = 0; i < 2; i++)
        {
            using var release = await core.PostAsJsonAsync("/internal/credits/release", new { reservationId = Id(reservation) });
            Assert.Equal(HttpStatusCode.OK, release.StatusCode);
            var body = await release.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("released", body.GetProperty("status").GetString());
            Assert.Equal(0, body.GetProperty("reserved").GetInt64());
        }

        using var capture = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(reservation), actualAmount = 1 });
        Assert.Equal(HttpStatusCode.Conflict, capture.StatusCode);
        Assert.Equal(SignupGrant, await BalanceAsync(user));
    }

    [Fact]
    public async Task Insufficient_credits_is_a_402_that_a_replay_repeats()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        var requestId = "req-" + Guid.NewGuid();

        using var refused = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = user.Id, amount = SignupGrant + 1, requestId });
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://smarthub.local/problems/insufficient-credits", problem.GetProperty("type").GetString());
        Assert.Equal(SignupGrant, problem.GetProperty("available").GetInt64());

        await GrantAsync(user.Id, 10);
        using var replay = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = user.Id, amount = SignupGrant + 1, requestId });
        Assert.Equal(HttpStatusCode.PaymentRequired, replay.StatusCode);
        await ReserveAsync(core, user.Id, SignupGrant + 1);
    }

    [Fact]
    public async Task Two_hundred_concurrent_reservations_never_overspend_one_balance()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        await BalanceAsync(user); // opens the account: 1,000 credits

        var attempts = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = user.Id, amount = 7, requestId = $"c-{user.Id}-{i}" });
            return response.StatusCode;
        }));

        Assert.All(attempts, s => Assert.True(s is HttpStatusCode.Created or HttpStatusCode.PaymentRequired, $"unexpected {s}"));
        var held = attempts.Count(s => s == HttpStatusCode.Created);
        Assert.Equal(SignupGrant / 7, held); // 142 fit; the other 58 are refused
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var balance = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
        Assert.Equal(held * 7, balance.GetProperty("reserved").GetInt64());
        Assert.Equal(SignupGrant - (held * 7), balance.GetProperty("available").GetInt64());
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task A_reservation_nobody_settles_is_released_when_it_expires()
    {
        var user = await graph.NewUserAsync();
        using var core = graph.CoreClient();
        var reservation = await ReserveAsync(core, user.Id, 250, timeoutSeconds: 1);

        await Poll.UntilAsync(async () => await ReservedAsync(user) == 0, TimeSpan.FromSeconds(15), "the expired reservation is released");

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var release = (await EntriesAsync(client))[0];
        Assert.Equal("release", release.GetProperty("kind").GetString());
        Assert.Equal("system:expiry", release.GetProperty("actor").GetString());
        // A capture that arrives after the expiry still charges: the call was made.
        using var late = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = Id(reservation), actualAmount = 30 });
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal(SignupGrant - 30, await BalanceAsync(user));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Killing_CoreService_mid_flight_loses_and_doubles_nothing()
    {
        var user = await graph.NewUserAsync();
        await BalanceAsync(user);
        using var core = graph.CoreClient();
        using var stop = new CancellationTokenSource();

        // Callers reserve (1 s timeout) and capture in a loop; CoreService is killed under them and restarted by the AppHost.
        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var reserve = await core.PostAsJsonAsync("/internal/credits/reserve",
                        new { userId = user.Id, amount = 5, requestId = $"k-{user.Id}-{c}-{i}", timeoutSeconds = 1 });
                    if (reserve.StatusCode != HttpStatusCode.Created)
                    {
                        continue;
                    }

                    var id = Id(await reserve.Content.ReadFromJsonAsync<JsonElement>());
                    using var capture = await core.PostAsJsonAsync("/internal/credits/capture", new { reservationId = id, actualAmount = 2 });
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    await Task.Delay(50);
                }
            }
        })).ToArray();

        await Task.Delay(700);
        Process.GetProcessById(graph.App.GetProcessIds()["core"]).Kill();
        await Task.Delay(300);
        await graph.App.ResourceNotifications.WaitForResourceHealthyAsync("core").WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(callers);

        await Poll.UntilAsync(async () => await ReservedAsync(user) == 0, TimeSpan.FromSeconds(20), "every unsettled reservation is released");
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var entries = await AllEntriesAsync(client);
        var captures = entries.Where(e => e.GetProperty("kind").GetString() == "capture").ToList();
        Assert.NotEmpty(captures);
        Assert.Equal(captures.Count, captures.Select(e => e.GetProperty("reservationId").GetString()).Distinct().Count());
        Assert.Equal(SignupGrant - (2 * captures.Count), await BalanceAsync(user));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Admin_grants_are_idempotent_by_key()
    {
        var user = await graph.NewUserAsync();
        var key = "grant-" + Guid.NewGuid();
        using var admin = await graph.AdminClientAsync();

        using var first = await admin.PostAsJsonAsync("/api/v1/admin/credits/grants", new { userId = user.Id, amount = 500, reason = "welcome bonus", idempotencyKey = key });
        using var replay = await admin.PostAsJsonAsync("/api/v1/admin/credits/grants", new { userId = user.Id, amount = 500, reason = "welcome bonus", idempotencyKey = key });
        using var conflict = await admin.PostAsJsonAsync("/api/v1/admin/credits/grants", new { userId = user.Id, amount = 501, reason = "welcome bonus", idempotencyKey = key });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.True((await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetBoolean());
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(SignupGrant + 500, await BalanceAsync(user));
    }

    [Fact]
    public async Task Granting_needs_the_credits_grant_permission()
    {
        var user = await graph.NewUserAsync();
        var manager = await graph.NewUserAsync("manager");
        var body = new { userId = user.Id, amount = 5, reason = "r", idempotencyKey = Guid.NewGuid().ToString() };

        using (var asUser = graph.Client(bearer: user.Tokens.AccessToken))
        using (var response = await asUser.PostAsJsonAsync("/api/v1/admin/credits/grants", body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var anonymous = graph.Client())
        using (var response = await anonymous.PostAsJsonAsync("/api/v1/admin/credits/grants", body))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var asManager = graph.Client(bearer: manager.Tokens.AccessToken);
        using var granted = await asManager.PostAsJsonAsync("/api/v1/admin/credits/grants", body);
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
    }

    [Fact]
    public async Task Grants_to_unknown_users_are_404()
    {
        using var admin = await graph.AdminClientAsync();
        using var response = await admin.PostAsJsonAsync("/api/v1/admin/credits/grants",
            new { userId = Guid.NewGuid(), amount = 5, reason = "r", idempotencyKey = Guid.NewGuid().ToString() });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("https://smarthub.local/problems/unknown-user", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());

        using var core = graph.CoreClient();
        using var reserve = await core.PostAsJsonAsync("/internal/credits/reserve", new { userId = Guid.NewGuid(), amount = 5, requestId = "x" + Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.NotFound, reserve.StatusCode);
    }

    [Theory]
    [InlineData("""{"userId":"USER","amount":0,"reason":"r","idempotencyKey":"k"}""", "amount")]
    [InlineData("""{"userId":"USER","amount":-5,"reason":"r","idempotencyKey":"k"}""", "amount")]
    [InlineData("""{"userId":"USER","amount":5,"reason":"","idempotencyKey":"k"}""", "reason")]
    [InlineData("""{"userId":"USER","amount":5,"reason":"r"}""", "idempotencyKey")]
    [InlineData("""{"amount":5,"reason":"r","idempotencyKey":"k"}""", "userId")]
    [InlineData("""{"userId":"USER","amount":"five","reason":"r","idempotencyKey":"k"}""", "amount")]
    [InlineData("""{"userId":"USER","amount":5,"reason":"r","idempotencyKey":"k","bonus":1}""", "bonus")]
    [InlineData("""{"userId":"USER","amount":5,""", "body")]
    public async Task Bad_grants_are_400_naming_the_field(string json, string field)
    {
        var user = await graph.NewUserAsync();
        using var admin = await graph.AdminClientAsync();
        using var content = new StringContent(json.Replace("USER", user.Id, StringComparison.Ordinal), Encoding.UTF8, "application/json");

        using var response = await admin.PostAsync("/api/v1/admin/credits/grants", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Theory]
    [InlineData("""{"userId":"USER","amount":0,"requestId":"r1"}""", "amount")]
    [InlineData("""{"userId":"USER","amount":-1,"requestId":"r1"}""", "amount")]
    [InlineData("""{"userId":"USER","amount":5}""", "requestId")]
    [InlineData("""{"userId":"USER","amount":5,"requestId":"r1","timeoutSeconds":0}""", "timeoutSeconds")]
    [InlineData("""{"userId":"not-a-guid","amount":5,"requestId":"r1"}""", "userId")]
    public async Task Bad_reservations_are_400_naming_the_field(string json, string field)
    {
        using var core = graph.CoreClient();
        using var content = new StringContent(json.Replace("USER", Guid.NewGuid().ToString(), StringComparison.Ordinal), Encoding.UTF8, "application/json");

        using var response = await core.PostAsync("/internal/credits/reserve", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Fact]
    public async Task The_internal_api_needs_the_internal_token()
    {
        using var stranger = graph.App.CreateHttpClient("core");
        using var response = await stranger.PostAsJsonAsync("/internal/credits/reserve", new { userId = Guid.NewGuid(), amount = 5, requestId = "r" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var viaGateway = await graph.Gateway.PostAsJsonAsync("/internal/credits/reserve", new { userId = Guid.NewGuid(), amount = 5, requestId = "r" });
        Assert.Equal(HttpStatusCode.NotFound, viaGateway.StatusCode);
    }

    [Fact]
    public async Task Transactions_page_newest_first_with_a_cursor()
    {
        var user = await graph.NewUserAsync();
        await BalanceAsync(user);
        for (var i = 1; i <= 5; i++)
        {
            await GrantAsync(user.Id, i);
        }

        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var first = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/transactions?limit=4");
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await client.GetFromJsonAsync<JsonElement>($"/api/v1/credits/transactions?limit=4&cursor={cursor}");

        var amounts = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(e => e.GetProperty("amount").GetInt64());
        Assert.Equal([5L, 4, 3, 2, 1, SignupGrant], amounts);
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);

        using var bad = await client.GetAsync("/api/v1/credits/transactions?cursor=nonsense");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var tooMany = await client.GetAsync("/api/v1/credits/transactions?limit=1000");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
    }

    private async Task GrantAsync(string userId, long amount)
    {
        using var admin = await graph.AdminClientAsync();
        using var response = await admin.PostAsJsonAsync("/api/v1/admin/credits/grants",
            new { userId, amount, reason = "test", idempotencyKey = Guid.NewGuid().ToString() });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"grant: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<long> BalanceAsync(TestUser user)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        return (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance")).GetProperty("balance").GetInt64();
    }

    private async Task<long> ReservedAsync(TestUser user)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        return (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance")).GetProperty("reserved").GetInt64();
    }

    private static async Task<List<JsonElement>> EntriesAsync(HttpClient client) =>
        [.. (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/transactions")).GetProperty("items").EnumerateArray()];

    private static async Task<List<JsonElement>> AllEntriesAsync(HttpClient client)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/transactions?limit=200" + (cursor is null ? string.Empty : "&cursor=" + cursor));
            all.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return all;
    }
}
