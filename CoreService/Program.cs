using SmartHub.CoreService.Apis;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("coredb");
builder.AddPostgresMigrations("coredb", typeof(Program).Assembly);
builder.AddRedisClient("cache");
builder.AddSmartHubAuthentication();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseSmartHubAuthentication();
app.UseAuthorization();
app.MapDatabaseStatus("/api", "core", "coredb");
app.MapWhoAmIApi();

app.Run();
