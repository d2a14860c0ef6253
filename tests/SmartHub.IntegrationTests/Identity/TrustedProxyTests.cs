using System.Net;
using System.Net.Http.Json;
using System.Text;
using SmartHub.Hosting;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>
/// A gateway behind a trusted proxy (here: loopback, named in Gateway:TrustedProxies) files each client under the
/// address the proxy reports: per-IP limits per client, not one bucket for everyone behind the proxy. Its own graph:
/// the shared one trusts no proxy.
/// </summary>
public sealed class TrustedProxyTests
{
    [Fact]
    public async Task Clients_behind_a_trusted_proxy_get_their_own_per_ip_budget()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>();
        builder.CreateResourceBuilder<ProjectResource>("gateway")
            .WithEnvironment("Gateway__TrustedProxies__Addresses__0", "127.0.0.1")
            .WithEnvironment("RateLimits__Auth__PermitsPerSecond", "1")
            .WithEnvironment("RateLimits__Auth__Burst", "3");
        await using var app = await builder.BuildAsync();
        await app.StartAsync().WaitAsync(GraphFixture.StartTimeout);
        using var gateway = app.CreateHttpClient("gateway");

        async Task<HttpStatusCode> LoginFromAsync(string client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
            {
                Content = new StringContent("{}", Encoding.UTF8, "application/json"),
                Headers = { { "X-Forwarded-For", client } },
            };
            using var response = await gateway.SendAsync(request);
            return response.StatusCode;
        }

        var first = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            first.Add(await LoginFromAsync("203.0.113.10"));
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, first);               // the first client's burst is spent...
        Assert.NotEqual(HttpStatusCode.TooManyRequests, await LoginFromAsync("203.0.113.20")); // ...the second client's is not

        // And the address the proxy reported is what AuthService audits.
        var email = $"u{Guid.NewGuid():N}@tests.smarthub.local";
        using (var register = await gateway.PostAsJsonAsync("/auth/register", new { email, password = "correct horse battery staple" }))
        {
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        }

        using var login = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = JsonContent.Create(new { email, password = "correct horse battery staple" }),
            Headers = { { "X-Forwarded-For", "198.51.100.7" } },
        };
        using (var response = await gateway.SendAsync(login))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var adminLogin = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = JsonContent.Create(new { email = app.GetParameterValue("admin-email"), password = app.GetParameterValue("admin-password") }),
            Headers = { { "X-Forwarded-For", "198.51.100.8" } },
        };
        using var adminResponse = await gateway.SendAsync(adminLogin);
        var adminToken = (await adminResponse.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("accessToken").GetString();
        using var admin = app.CreateHttpClient("gateway");
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
        var audit = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/auth/admin/audit?type=login.succeeded&pageSize=100");
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("ip").GetString() == "198.51.100.7");
    }
}
