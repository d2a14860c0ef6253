using SmartHub.AuthService.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("authdb");
builder.AddPostgresMigrations("authdb", typeof(Program).Assembly);

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapStatusApi();

app.Run();
