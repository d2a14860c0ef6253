using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using SmartHub.Gateway.Edge;
using SmartHub.Gateway.Proxy;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Gateway;

/// <summary>The shortcut only allows what the route table's policies allow; everything else goes to UseAuthorization().</summary>
public sealed class GatewayAuthorizationTests
{
    private static readonly ClaimsPrincipal Anonymous = new(new ClaimsIdentity());
    private static readonly ClaimsPrincipal Plain = new(new ClaimsIdentity([new Claim(SmartHubClaims.Subject, "u1")], "test"));
    private static readonly ClaimsPrincipal Chat = new(new ClaimsIdentity(
        [new Claim(SmartHubClaims.Subject, "u2"), new Claim(SmartHubClaims.Permission, Permissions.ChatUse)], "test"));

    private static DefaultHttpContext Request(string? routeId, ClaimsPrincipal user)
    {
        var context = new DefaultHttpContext { User = user };
        var metadata = routeId is null ? new EndpointMetadataCollection() : new EndpointMetadataCollection(GatewayRoutes.Find(routeId)!);
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, metadata, routeId ?? "own"));
        return context;
    }

    public static TheoryData<string?, string, bool> Cases => new()
    {
        { "core", "anonymous", false },     // authenticated route: refused by UseAuthorization(), with its 401
        { "core", "plain", true },
        { "openai", "plain", false },       // perm:chat:use without the claim: UseAuthorization() answers 403
        { "openai", "chat", true },
        { "auth-admin", "chat", false },
        { "auth-login", "anonymous", false }, // anonymous rows: UseAuthorization() lets them through at once
        { null, "chat", false },            // the gateway's own endpoints: always the standard path
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Only_callers_that_plainly_satisfy_the_rows_policy_take_the_shortcut(string? routeId, string caller, bool expected)
    {
        var user = caller switch { "plain" => Plain, "chat" => Chat, _ => Anonymous };

        Assert.Equal(expected, GatewayAuthorization.IsPlainlyAllowed(Request(routeId, user)));
    }
}
