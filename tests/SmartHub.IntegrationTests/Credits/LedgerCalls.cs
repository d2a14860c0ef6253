using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Credits;

/// <summary>
/// Calls of the credits ledger shared by the credits tests: CoreService's internal API as McpServer calls it (on
/// CoreService directly, with the internal token) and the ledger's invariant check.
/// </summary>
internal static class LedgerCalls
{
    public static HttpClient CoreClient(this GraphFixture graph)
    {
        var client = graph.App.CreateHttpClient("core");
        client.DefaultRequestHeaders.Add("X-Internal-Token", graph.App.GetParameterValue("internal-token"));
        return client;
    }

    /// <summary>A reservation, held or refused: the caller reads the status.</summary>
    public static Task<HttpResponseMessage> TryReserveAsync(
        HttpClient core, string userId, long amount, string? requestId = null, int? timeoutSeconds = null, string? apiKeyId = null) =>
        core.PostAsJsonAsync("/internal/credits/reserve",
            new { userId, apiKeyId, amount, requestId = requestId ?? "req-" + Guid.NewGuid(), timeoutSeconds });

    /// <summary>A reservation that must be held (201).</summary>
    public static async Task<JsonElement> ReserveAsync(
        HttpClient core, string userId, long amount, string? requestId = null, int? timeoutSeconds = null, string? apiKeyId = null)
    {
        using var response = await TryReserveAsync(core, userId, amount, requestId, timeoutSeconds, apiKeyId);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"reserve: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static string Id(JsonElement reservation) => reservation.GetProperty("reservationId").GetString()!;

    /// <summary>For every account: balance = sum of entries, reserved = sum of their reserved changes = sum of held reservations.</summary>
    public static async Task AssertLedgerConsistentAsync(this GraphFixture graph)
    {
        using var core = graph.CoreClient();
        var check = await core.GetFromJsonAsync<JsonElement>("/internal/credits/check");
        Assert.True(check.GetProperty("accounts").GetInt64() > 0);
        Assert.Equal(0, check.GetProperty("violations").GetArrayLength());
    }
}
