using SmartHub.Gateway.Edge;
using SmartHub.Gateway.Health;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.RateLimiting;
using SmartHub.Gateway.ResponseTime;
using SmartHub.Gateway.SecurityHeaders;
using SmartHub.Gateway.SecurityStatus;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRedisClient(EdgeExtensions.CacheName);
builder.AddSmartHubAuthentication();
builder.AddSecurityHeaders();
builder.AddGatewayEdge();
builder.AddTrustedProxies();
builder.AddGatewayRateLimiting();
builder.AddResponseTimeSamples();
builder.AddGatewayProxy();
builder.AddDownstreamHealthChecks();
builder.AddSecurityStatus();

var app = builder.Build();

// Order matters (see README "Gateway edge"): headers first so every response carries them, errors included;
// identity before rate limits (the bucket is per key/user); rate limits before authorization (floods of bad
// credentials are limited by IP too) and before proxying.
app.UseTrustedProxies();            // X-Forwarded-For/-Proto believed only from Gateway:TrustedProxies
app.UseEdgeResponseHeaders();       // security headers, X-Response-Time, rate-limit headers: one callback per response
app.MapDefaultEndpoints();          // span enrichment, X-Correlation-ID, ProblemDetails for errors, /health, /alive
app.UseEdgeRequestChecks();         // 400 for non-canonical paths (policies match on paths); no client-sent X-Internal-Token,
                                    // X-SmartHub-*, X-User-*...; 413 for bodies over the route's limit, before anything is read
app.UseGatewayCors();               // preflights answered here
app.UseSmartHubAuthentication();
app.UseGatewayRateLimiting();
app.UseGatewayAuthorization();      // the route table's policies: allowed requests by their row, the rest by UseAuthorization()
app.MapSecurityStatus();            // GET /api/v1/security/status: the gateway's own headers, checked live, and core's violations
app.MapGatewayProxy();

app.Run();
