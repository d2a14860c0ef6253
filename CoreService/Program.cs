using SmartHub.CoreService.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("coredb");
builder.AddPostgresMigrations("coredb", typeof(Program).Assembly);

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapStatusApi();

app.Run();
