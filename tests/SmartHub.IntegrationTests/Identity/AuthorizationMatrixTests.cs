using System.Net;
using System.Text;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>Every gateway route against every kind of caller: who gets in, who gets 401, who gets 403.</summary>
[Collection(GraphCollection.Name)]
public sealed class AuthorizationMatrixTests(GraphFixture graph)
{
    public enum Caller { Anonymous, User, Manager, Admin, ApiKey, RevokedKey, ExpiredToken, ForeignToken }

    // Expected outcome per caller: A = allowed (anything but 401/403), N = 401, F = 403.
    // Columns:                                             Anon User Mgr Admin Key Revoked Expired Foreign
    public static TheoryData<string, string, string> Routes => new()
    {
        { "POST", "/auth/register",                        "A    A    A   A     A   A       A       A" },
        { "POST", "/auth/login",                           "A    A    A   A     A   A       A       A" },
        { "POST", "/auth/refresh",                         "A    A    A   A     A   A       A       A" },
        { "GET",  "/auth/.well-known/jwks.json",           "A    A    A   A     A   A       A       A" },
        { "GET",  "/health",                               "A    A    A   A     A   A       A       A" },
        { "GET",  "/metrics",                              "N    F    A   A     F   N       N       N" },
        { "POST", "/api/v1/security/csp-report",           "A    A    A   A     A   A       A       A" },
        { "GET",  "/auth/me",                              "N    A    A   A     A   N       N       N" },
        { "GET",  "/auth/status",                          "N    A    A   A     A   N       N       N" },
        { "GET",  "/auth/api-keys",                        "N    A    A   A     F   N       N       N" },
        { "GET",  "/auth/admin/users",                     "N    F    F   A     F   N       N       N" },
        { "GET",  "/auth/admin/audit",                     "N    F    F   A     F   N       N       N" },
        { "GET",  "/api/status",                           "N    A    A   A     A   N       N       N" },
        { "GET",  "/api/v1/whoami",                        "N    A    A   A     A   N       N       N" },
        { "GET",  "/api/v1/monitoring/overview",           "N    F    A   A     F   N       N       N" },
        { "GET",  "/api/v1/admin/settings",                "N    F    A   A     F   N       N       N" },
        { "GET",  "/api/v1/security/status",               "N    F    A   A     F   N       N       N" },
        { "GET",  "/api/v1/security/violations",           "N    F    A   A     F   N       N       N" },
        { "GET",  "/v1/status",                            "N    A    A   A     A   N       N       N" },
        { "POST", "/mcp",                                  "N    A    A   A     A   N       N       N" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Each_route_admits_exactly_the_callers_its_policy_allows(string method, string path, string expected)
    {
        var outcomes = expected.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var callers = Enum.GetValues<Caller>();
        Assert.Equal(callers.Length, outcomes.Length);
        var failures = new List<string>();

        for (var i = 0; i < callers.Length; i++)
        {
            using var client = await ClientForAsync(callers[i]);
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST")
            {
                request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            var status = response.StatusCode;
            var ok = outcomes[i] switch
            {
                "A" => status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)status < 500,
                "N" => status == HttpStatusCode.Unauthorized,
                "F" => status == HttpStatusCode.Forbidden,
                _ => false,
            };

            // Refresh with a bogus token is a 401 of the refresh itself, not of the caller's identity.
            if (!ok && path == "/auth/refresh" && status == HttpStatusCode.Unauthorized)
            {
                ok = true;
            }

            if (!ok)
            {
                var body = await response.Content.ReadAsStringAsync();
                var diagnosis = body.Contains("revoked", StringComparison.Ordinal) && client.DefaultRequestHeaders.Authorization?.Parameter is { } token
                    ? await DiagnoseRevokedAsync(token)
                    : "";
                failures.Add($"{callers[i]}: expected {outcomes[i]}, got {(int)status} {body}{diagnosis}");
            }
            else if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Assert.NotEqual(0, response.Content.Headers.ContentLength ?? (await response.Content.ReadAsByteArrayAsync()).Length);
            }
        }

        Assert.True(failures.Count == 0, $"{method} {path}:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>Why a token counts as revoked: its iat and sid, the Redis markers, and the user's audit trail.</summary>
    private async Task<string> DiagnoseRevokedAsync(string token)
    {
        try
        {
            var payload = Tokens.Payload(token);
            var sub = payload.GetProperty("sub").GetString();
            var sid = payload.TryGetProperty("sid", out var s) ? s.GetString() : null;
            await using var redis = await SmartHub.ServiceDefaults.Redis.RedisConnection.ConnectAsync(
                SmartHub.ServiceDefaults.Redis.RedisOptions.Parse((await graph.App.GetConnectionStringAsync("cache"))!));
            var userMarker = await SmartHub.ServiceDefaults.Redis.RedisCommands.GetAsync(redis, "auth:user-revoked:" + sub);
            var sessionMarker = sid is null ? null : await SmartHub.ServiceDefaults.Redis.RedisCommands.GetAsync(redis, "auth:session-revoked:" + sid);
            using var admin = await graph.AdminClientAsync();
            var audit = await admin.GetStringAsync($"/auth/admin/audit?userId={sub}");
            return $" [iat {payload.GetProperty("iat")}, sid {sid}, user marker {userMarker ?? "none"}, session marker {sessionMarker ?? "none"}, audit {audit}]";
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return $" [no diagnosis: {ex.Message}]";
        }
    }

    private async Task<HttpClient> ClientForAsync(Caller caller) => caller switch
    {
        Caller.Anonymous => graph.Client(),
        Caller.User => graph.Client(bearer: (await Callers.UserAsync(graph)).Tokens.AccessToken),
        Caller.Manager => graph.Client(bearer: (await Callers.ManagerAsync(graph)).Tokens.AccessToken),
        Caller.Admin => await graph.AdminClientAsync(),
        Caller.ApiKey => graph.Client(apiKey: (await Callers.ApiKeyAsync(graph)).Key),
        Caller.RevokedKey => graph.Client(apiKey: await Callers.RevokedKeyAsync(graph)),
        Caller.ExpiredToken => graph.Client(bearer: await Callers.ExpiredTokenAsync(graph)),
        Caller.ForeignToken => graph.Client(bearer: Tokens.SignedWithForeignKey(await Callers.KidAsync(graph), "admin")),
        _ => throw new ArgumentOutOfRangeException(nameof(caller)),
    };
}
