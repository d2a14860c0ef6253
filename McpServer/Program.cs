using SmartHub.McpServer.Apis;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOpenAiErrors();
builder.AddRedisClient("cache");
builder.AddSmartHubAuthentication();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseOpenAiErrors();
app.UseSmartHubAuthentication();
app.UseAuthorization();
app.MapOpenAiApi();

app.Run();
