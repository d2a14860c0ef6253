using SmartHub.McpServer.Apis;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOpenAiErrors();
builder.AddRedisClient("cache");

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseOpenAiErrors();
app.MapOpenAiApi();

app.Run();
