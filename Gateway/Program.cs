using SmartHub.Gateway.Health;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.ResponseTime;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddGatewayProxy();
builder.AddDownstreamHealthChecks();

var app = builder.Build();

app.UseResponseTime();
app.MapDefaultEndpoints();

// Edge security (next issue) goes here, before the proxy: UseAuthentication, UseAuthorization, UseRateLimiter.

app.MapGatewayProxy();

app.Run();
