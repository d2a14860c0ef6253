using SmartHub.McpServer.Apis;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Mcp;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOpenAiErrors();
builder.AddRedisClient("cache");
builder.AddSmartHubAuthentication();
builder.AddChat();
builder.AddMcp();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseOpenAiErrors();
app.UseSmartHubAuthentication();
app.UseAuthorization();
app.MapChatCompletionsApi();
app.MapOpenAiApi();
app.MapMcp();

app.Run();
