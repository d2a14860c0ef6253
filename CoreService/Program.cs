using SmartHub.CoreService.Apis;
using SmartHub.CoreService.Credits;
using SmartHub.CoreService.Monitoring;
using SmartHub.CoreService.Pricing;
using SmartHub.CoreService.Security;
using SmartHub.CoreService.Usage;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("coredb");
builder.AddPostgresMigrations("coredb", typeof(Program).Assembly);
builder.AddRedisClient("cache");
builder.AddSmartHubAuthentication();
builder.AddCredits();
builder.AddUsage();
builder.AddMonitoring();
builder.AddSecurityReporting();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseSmartHubAuthentication();
app.UseAuthorization();
app.MapDatabaseStatus("/api", "core", "coredb");
app.MapWhoAmIApi();
app.MapCreditsApi();
app.MapCreditsAdminApi();
app.MapCreditCapsApi();
app.MapCreditsInternalApi();
app.MapUsageApi();
app.MapUsageAdminApi();
app.MapMonitoringApi();
app.MapPricingApi();
app.MapSecurityApi();

app.Run();
