using SmartHub.AuthService.Apis;
using SmartHub.AuthService.Http;
using SmartHub.AuthService;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("authdb");
builder.AddPostgresMigrations("authdb", typeof(Program).Assembly);
builder.AddRedisClient("cache");
builder.AddIdentityServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseRequestBodyLimit();
app.UseSmartHubAuthentication();
app.UseAuthorization();

app.MapDatabaseStatus("/auth", "auth", "authdb");
app.MapAuthApi();
app.MapApiKeysApi();
app.MapAdminApi();
app.MapJwksApi();
app.MapInternalApi();

app.Run();
