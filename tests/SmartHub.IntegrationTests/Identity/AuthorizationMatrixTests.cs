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
                failures.Add($"{callers[i]}: expected {outcomes[i]}, got {(int)status} {await response.Content.ReadAsStringAsync()}");
            }
            else if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Assert.NotEqual(0, response.Content.Headers.ContentLength ?? (await response.Content.ReadAsByteArrayAsync()).Length);
            }
        }

        Assert.True(failures.Count == 0, $"{method} {path}:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
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
