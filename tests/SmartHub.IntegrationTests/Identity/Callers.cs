using System.Net.Http.Json;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>The callers of the authorization matrix, created once per graph (xunit makes a test class instance per test).</summary>
internal static class Callers
{
    // One lazily started task per (graph, caller): nested callers (a key needs its user) await each other, no lock held.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<GraphFixture, System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<object>>>> Cache = [];

    private static async Task<T> OnceAsync<T>(GraphFixture graph, string name, Func<Task<T>> create) where T : notnull
    {
        var callers = Cache.GetOrCreateValue(graph);
        var lazy = callers.GetOrAdd(name, _ => new Lazy<Task<object>>(async () => await create()));
        return (T)await lazy.Value;
    }

    public static Task<TestUser> UserAsync(GraphFixture graph) => OnceAsync(graph, "user", () => graph.NewUserAsync());

    public static Task<TestUser> ManagerAsync(GraphFixture graph) => OnceAsync(graph, "manager", () => graph.NewUserAsync("manager"));

    public static Task<(string Id, string Key)> ApiKeyAsync(GraphFixture graph) =>
        OnceAsync(graph, "key", async () => await graph.NewApiKeyAsync(await UserAsync(graph)));

    public static Task<string> RevokedKeyAsync(GraphFixture graph) => OnceAsync(graph, "revoked", async () =>
    {
        var user = await UserAsync(graph);
        var (id, key) = await graph.NewApiKeyAsync(user);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        using var response = await client.DeleteAsync($"/auth/api-keys/{id}");
        Assert.True(response.IsSuccessStatusCode, $"revoking: {(int)response.StatusCode}");
        return key;
    });

    public static Task<string> KidAsync(GraphFixture graph) => OnceAsync(graph, "kid", async () =>
    {
        var jwks = await graph.Gateway.GetFromJsonAsync<JsonElement>("/auth/.well-known/jwks.json");
        return jwks.GetProperty("keys")[0].GetProperty("kid").GetString()!;
    });

    /// <summary>A token signed with the hub's real key whose lifetime ended an hour ago.</summary>
    public static Task<string> ExpiredTokenAsync(GraphFixture graph) => OnceAsync(graph, "expired", async () =>
    {
        var user = await UserAsync(graph);
        var now = DateTimeOffset.UtcNow;
        return await Tokens.SignedWithHubKeyAsync(graph, user.Id, user.Email, ["admin"], issuedAt: now.AddHours(-2), expires: now.AddHours(-1));
    });
}
