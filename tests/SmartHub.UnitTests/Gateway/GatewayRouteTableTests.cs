using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.Gateway.Proxy;
using SmartHub.ServiceDefaults.Authentication;
using Yarp.ReverseProxy.Configuration;

namespace SmartHub.UnitTests.Gateway;

/// <summary>
/// The real route table in real endpoint routing (YARP's endpoints, ASP.NET Core's matcher): a terminal middleware
/// after routing reports which row matched and which authorization YARP attached, and nothing is forwarded.
/// </summary>
public sealed class RouteTableAppFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthorization(options => options.AddPermissionPolicies());
        builder.Services.AddReverseProxy().LoadFromMemory(
            GatewayRoutes.Routes,
            [.. GatewayRoutes.Services.Select(service => new ClusterConfig
            {
                ClusterId = service,
                Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = "http://127.0.0.1:9" } },
            })]);

        var app = builder.Build();
        app.UseRouting();
        foreach (var own in GatewayRoutes.Table.Where(row => row.ClusterId == GatewayRoutes.Self))
        {
            GatewayRoutes.MapOwn(app, own.RouteId, () => "answered by the gateway");
        }

        app.Use((HttpContext context, RequestDelegate _) =>
        {
            var endpoint = context.GetEndpoint();
            var row = endpoint?.Metadata.GetMetadata<GatewayRoute>();
            string policy;
            if (endpoint is null)
            {
                policy = "404";
            }
            else if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                policy = GatewayPolicies.Anonymous;
            }
            else
            {
                var authorize = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>();
                policy = authorize.Count == 0 ? "none" : authorize[0].Policy ?? GatewayPolicies.Authenticated;
            }

            return context.Response.WriteAsync($"{row?.RouteId ?? "-"} {policy}");
        });
        app.MapReverseProxy().ConfigureEndpoints(GatewayRoutes.AttachRow);

        await app.StartAsync();
        _app = app;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

public sealed class GatewayRouteTableTests(RouteTableAppFixture fixture) : IClassFixture<RouteTableAppFixture>
{
    public static TheoryData<string, string, string> Requests => new()
    {
        // Anonymous: exactly register, login, refresh, JWKS, CSP reports.
        { "POST", "/auth/register", "auth-register anonymous" },
        { "POST", "/auth/login", "auth-login anonymous" },
        { "POST", "/auth/login/", "auth-login anonymous" },
        { "POST", "/AUTH/LOGIN", "auth-login anonymous" },
        { "POST", "/auth/refresh", "auth-refresh anonymous" },
        { "GET", "/auth/.well-known/jwks.json", "auth-jwks anonymous" },
        { "HEAD", "/auth/.well-known/jwks.json", "auth-jwks anonymous" },
        { "POST", "/api/v1/security/csp-report", "core-csp-report anonymous" },

        // The same paths with other methods are not anonymous.
        { "GET", "/auth/login", "auth default" },
        { "DELETE", "/auth/register", "auth default" },
        { "POST", "/auth/.well-known/jwks.json", "auth default" },
        { "GET", "/api/v1/security/csp-report", "core default" },
        { "POST", "/api/v1/security/status", "core default" },

        // Anything else under /auth needs an identity; /auth/admin/** users:manage.
        { "GET", "/auth/me", "auth default" },
        { "GET", "/auth/status", "auth default" },
        { "POST", "/auth/api-keys", "auth default" },
        { "GET", "/auth", "auth default" },
        { "GET", "/auth/admin", "auth-admin perm:users:manage" },
        { "GET", "/auth/admin/users", "auth-admin perm:users:manage" },
        { "PUT", "/auth/admin/users/42/roles", "auth-admin perm:users:manage" },
        { "GET", "/Auth/Admin/Audit", "auth-admin perm:users:manage" },
        { "GET", "/auth/administrators", "auth default" },

        // Core: admin and monitoring need their permissions, the rest an identity.
        { "GET", "/api/status", "core default" },
        { "GET", "/api/v1/credits", "core default" },
        { "GET", "/api/v1/credits/caps", "core default" },
        { "PUT", "/api/v1/credits/caps/api-keys/42", "core default" },
        { "POST", "/api/v1/admin/credits/grants", "core-admin-credits perm:credits:grant" },
        { "PUT", "/api/v1/admin/credits/caps/users/42", "core-admin-credits perm:credits:grant" },
        { "PUT", "/api/v1/admin/credits/caps/api-keys/42", "core-admin-credits perm:credits:grant" },
        { "GET", "/api/v1/admin/usage", "core-admin-usage perm:monitoring:read" },
        { "GET", "/api/v1/admin/usage/more", "core-admin perm:system:read" },
        { "GET", "/api/v1/usage", "core default" },
        { "GET", "/api/v1/pricing", "core default" },
        { "GET", "/api/v1/admin/settings", "core-admin perm:system:read" },
        { "POST", "/api/v1/admin", "core-admin perm:system:read" },
        { "GET", "/api/v1/monitoring/overview", "core-monitoring perm:monitoring:read" },
        { "GET", "/api/v1/monitoring", "core-monitoring perm:monitoring:read" },
        { "GET", "/api/v2/admin/settings", "core default" },

        // Security reporting: the status (answered by the gateway itself) and the violations need system:read.
        { "GET", "/api/v1/security/status", "gateway-security-status perm:system:read" },
        { "GET", "/metrics", "gateway-metrics perm:system:read" },
        { "GET", "/api/v1/security/violations", "core-security-violations perm:system:read" },
        { "GET", "/API/V1/Security/Violations/", "core-security-violations perm:system:read" },
        { "GET", "/api/v1/security", "core default" },

        // The OpenAI surface and MCP: chat:use.
        { "POST", "/v1/chat/completions", "openai perm:chat:use" },
        { "GET", "/v1/models", "openai perm:chat:use" },
        { "GET", "/v1/status", "openai perm:chat:use" },
        { "POST", "/mcp", "mcp perm:chat:use" },
        { "GET", "/mcp/", "mcp perm:chat:use" },

        // Not routed: 404.
        { "GET", "/", "- 404" },
        { "GET", "/no/such/route", "- 404" },
        { "GET", "/mcpx", "- 404" },
        { "GET", "/v2/chat/completions", "- 404" },
        { "GET", "/authx/login", "- 404" },
        { "GET", "/internal/auth/api-keys/verify", "- 404" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Each_request_gets_the_policy_of_its_row(string method, string path, string expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (method != "HEAD")
        {
            Assert.Equal(expected, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public void Only_the_documented_routes_are_anonymous()
    {
        var anonymous = GatewayRoutes.Table.Where(row => row.Policy == GatewayPolicies.Anonymous).Select(row => row.RouteId);

        Assert.Equal(["auth-register", "auth-login", "auth-refresh", "auth-jwks", "core-csp-report"], anonymous);
    }

    [Fact]
    public void Every_named_policy_is_a_permission_policy_that_exists()
    {
        Assert.NotEmpty(GatewayRoutes.NamedPolicies);
        foreach (var policy in GatewayRoutes.NamedPolicies)
        {
            Assert.StartsWith(Permissions.PolicyPrefix, policy, StringComparison.Ordinal);
            Assert.Contains(policy[Permissions.PolicyPrefix.Length..], Permissions.All);
        }
    }

    [Fact]
    public void Rows_are_unique_ordered_and_point_at_known_services()
    {
        Assert.Equal(GatewayRoutes.Table.Count, GatewayRoutes.Table.Select(row => row.RouteId).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(GatewayRoutes.Table, row => Assert.Contains(row.ClusterId, GatewayRoutes.Services.Append(GatewayRoutes.Self)));
        // Forwarded rows become YARP routes ordered by their index; the gateway's own rows are endpoints, not routes.
        Assert.Equal(
            GatewayRoutes.Table.Select((row, index) => (row, index)).Where(r => r.row.ClusterId != GatewayRoutes.Self).Select(r => r.index),
            GatewayRoutes.Routes.Select(route => route.Order!.Value));
        Assert.All(GatewayRoutes.Routes, route => Assert.Equal(GatewayRoutes.Find(route.RouteId)!.Policy, route.AuthorizationPolicy));
    }

    [Fact]
    public void Anonymous_credential_endpoints_are_limited_per_ip_and_everything_else_per_caller()
    {
        foreach (var row in GatewayRoutes.Table)
        {
            var (scope, body) = row.Path switch
            {
                "/api/v1/security/csp-report" => (RateLimitScope.Api, BodyLimit.CspReport), // anonymous: the API bucket per client IP, 64 KiB
                "/metrics" => (RateLimitScope.Api, BodyLimit.Default), // the gateway's own Prometheus endpoint: a GET, per caller
                var p when p.StartsWith("/auth", StringComparison.Ordinal) && row.Policy == GatewayPolicies.Anonymous => (RateLimitScope.Auth, BodyLimit.Default),
                var p when p.StartsWith("/auth", StringComparison.Ordinal) => (RateLimitScope.Api, BodyLimit.Default),
                var p when p.StartsWith("/api", StringComparison.Ordinal) => (RateLimitScope.Api, BodyLimit.Default),
                _ => (RateLimitScope.Api, BodyLimit.Chat),
            };
            Assert.Equal(scope, row.RateLimit);
            Assert.Equal(body, row.BodyLimit);
        }
    }

    [Theory]
    [InlineData("/api/v1/admin/settings", true)]
    [InlineData("/v1/chat/completions", true)]
    [InlineData("/api/v1//admin/settings", false)]
    [InlineData("/api/v1/%2Fadmin/settings", false)]
    [InlineData("/api/v1/%2fadmin", false)]
    [InlineData("/api/v1/./admin", false)]
    [InlineData("/api/v1/x/../admin", false)]
    [InlineData("/api/v1/%2E%2E/admin", false)]
    [InlineData("/api\\v1", false)]
    public void Only_canonical_paths_reach_the_route_table(string path, bool canonical) =>
        Assert.Equal(canonical, SmartHub.Gateway.Edge.CanonicalPath.IsCanonical(path));
}
