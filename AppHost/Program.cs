// The SmartHub application graph, declared as an Aspire AppHost would declare it.
// `dotnet run --project AppHost` starts it locally (see README); the engine behind it lives in Hosting/ and Orchestration/.
using Microsoft.Extensions.Configuration;
using SmartHub.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var postgres = builder.AddPostgres("postgres");
var authDb = postgres.AddDatabase("authdb");
var coreDb = postgres.AddDatabase("coredb");
var cache = builder.AddRedis("cache");

var auth = builder.AddProject("auth", "../AuthService/AuthService.csproj")
    .WithReference(authDb).WaitFor(authDb);

var core = builder.AddProject("core", "../CoreService/CoreService.csproj")
    .WithReference(coreDb).WaitFor(coreDb);

var mcp = builder.AddProject("mcp", "../McpServer/McpServer.csproj")
    .WithReference(cache).WaitFor(cache)
    .WithReference(core).WaitFor(core);

builder.AddProject("gateway", "../Gateway/Gateway.csproj")
    .WithReference(auth).WaitFor(auth)
    .WithReference(core).WaitFor(core)
    .WithReference(mcp).WaitFor(mcp)
    .WithExternalHttpEndpoints()
    .WithHttpEndpoint(port: builder.Configuration.GetValue("SMARTHUB_GATEWAY_PORT", 8080));

await builder.Build().RunAsync();

/// <summary>The AppHost entry point; public so that the testing builder can run it (CreateAsync&lt;Program&gt;).</summary>
public partial class Program;
