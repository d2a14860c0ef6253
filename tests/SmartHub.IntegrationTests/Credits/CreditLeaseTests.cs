using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.IntegrationTests.Usage;
using SmartHub.ServiceDefaults.Usage;
using static SmartHub.IntegrationTests.Credits.LedgerCalls;

namespace SmartHub.IntegrationTests.Credits;

/// <summary>
/// Credit leases (McpServer/Credits/CreditLeases.cs) through the whole graph: many requests of a user share one ledger
/// reservation and are charged exactly what each cost; a user whose balance cannot cover a lease is served one
/// reservation per request; and a lease whose holder died is charged at expiry from its requests' usage records.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class CreditLeaseTests(GraphFixture graph)
{
    private const long SignupGrant = 1_000;

    [Fact]
    public async Task Concurrent_requests_share_a_lease_and_are_charged_exactly_what_each_cost()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(apiKey: key);
        const int requests = 40;

        var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
        {
            using var response = await client.PostAsync("/v1/chat/completions", Body("mock-fast", $"Question {i}: what is a lease?"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return long.Parse(response.Headers.GetValues("X-SmartHub-Credits").Single(), System.Globalization.CultureInfo.InvariantCulture);
        }));

        var charged = answers.Sum();
        Assert.True(charged >= requests, $"each answer costs at least a credit; charged {charged}");
        var balance = await SettledBalanceAsync(user);
        Assert.Equal(SignupGrant - charged, balance.GetProperty("balance").GetInt64());
        var entries = await EntriesAsync(user);
        var reserves = entries.Count(e => e.GetProperty("kind").GetString() == "reserve");
        var captures = entries.Count(e => e.GetProperty("kind").GetString() == "capture");
        Assert.InRange(reserves, 1, requests / 4); // one lease serves many requests
        Assert.Equal(reserves, captures);
        Assert.Equal(-charged, entries.Where(e => e.GetProperty("kind").GetString() == "capture").Sum(e => e.GetProperty("amount").GetInt64()));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task A_user_whose_balance_cannot_cover_a_lease_is_served_one_reservation_per_request()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(apiKey: key);

        // mock-smart with 40,000 output tokens may cost 600 credits: a lease of 64 such holds is far beyond 1,000.
        long charged = 0;
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.PostAsync("/v1/chat/completions", Body("mock-smart", $"Big question {i}", maxTokens: 40_000));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            charged += long.Parse(response.Headers.GetValues("X-SmartHub-Credits").Single(), System.Globalization.CultureInfo.InvariantCulture);
        }

        var balance = await SettledBalanceAsync(user);
        Assert.Equal(SignupGrant - charged, balance.GetProperty("balance").GetInt64());
        Assert.Equal(2, (await EntriesAsync(user)).Count(e => e.GetProperty("kind").GetString() == "reserve"));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task A_lease_its_holder_never_settled_is_charged_at_expiry_for_what_its_requests_cost()
    {
        var user = await graph.NewUserAsync();
        var userId = Guid.Parse(user.Id);
        using var core = graph.CoreClient();
        // As McpServer opens a lease; then McpServer "dies" after answering three requests on it, never capturing.
        var lease = Guid.Parse(Id(await ReserveAsync(core, user.Id, 100, requestId: "lease:" + Guid.NewGuid().ToString("N"), timeoutSeconds: 4)));
        var now = DateTimeOffset.UtcNow;
        await graph.RecordThroughRecorderAsync(
        [
            Record(userId, now, credits: 7, lease),
            Record(userId, now, credits: 5, lease),
            Record(userId, now, credits: 0, lease, status: 499),
        ]);

        await Poll.UntilAsync(async () => (await SettledBalanceOrNullAsync(user)) is not null, TimeSpan.FromSeconds(20), "the lease is settled by the expiry");
        var balance = await SettledBalanceAsync(user);
        Assert.Equal(SignupGrant - 12, balance.GetProperty("balance").GetInt64());
        var capture = (await EntriesAsync(user))[0];
        Assert.Equal("capture", capture.GetProperty("kind").GetString());
        Assert.Equal(-12, capture.GetProperty("amount").GetInt64());
        Assert.Equal("system:expiry", capture.GetProperty("actor").GetString());
        await graph.AssertLedgerConsistentAsync();
    }

    private static StringContent Body(string model, string question, int maxTokens = 64) =>
        new(JsonSerializer.Serialize(new { model, max_tokens = maxTokens, messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json");

    private static UsageRecord Record(Guid userId, DateTimeOffset at, long credits, Guid reservation, int status = 200) =>
        new(Guid.NewGuid(), at, userId, null, "mock-fast", "mock", 10, 10, credits, 5, 1, status, CacheHit: false, reservation);

    private async Task<JsonElement?> SettledBalanceOrNullAsync(TestUser user)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        var balance = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
        return balance.GetProperty("reserved").GetInt64() == 0 ? balance : null;
    }

    /// <summary>The balance once nothing is held (the leases have settled).</summary>
    private async Task<JsonElement> SettledBalanceAsync(TestUser user)
    {
        JsonElement? settled = null;
        await Poll.UntilAsync(async () => (settled = await SettledBalanceOrNullAsync(user)) is not null, TimeSpan.FromSeconds(15), "no credits are held");
        return settled!.Value;
    }

    private async Task<List<JsonElement>> EntriesAsync(TestUser user)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        return [.. (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/transactions?limit=200")).GetProperty("items").EnumerateArray()];
    }
}
