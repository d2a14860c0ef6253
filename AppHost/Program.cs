// The SmartHub application graph, declared as an Aspire AppHost would declare it.
// `dotnet run --project AppHost` starts it locally (see README); the engine behind it lives in Hosting/ and Orchestration/.
using Microsoft.Extensions.Configuration;
using SmartHub.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

// Secrets: from Parameters__<name>, else generated once and kept in the state folder. No default password anywhere.
var adminEmail = builder.AddParameter("admin-email", defaultValue: "admin@smarthub.local");
var adminPassword = builder.AddParameter("admin-password", secret: true, showWhenGenerated: true);
var keyEncryptionKey = builder.AddParameter("auth-encryption-key", secret: true);
var internalToken = builder.AddParameter("internal-token", secret: true);

var postgres = builder.AddPostgres("postgres");
var authDb = postgres.AddDatabase("authdb");
var coreDb = postgres.AddDatabase("coredb");
var cache = builder.AddRedis("cache");

var auth = builder.AddProject("auth", "../AuthService/AuthService.csproj")
    .WithReference(authDb).WaitFor(authDb)
    .WithReference(cache).WaitFor(cache)
    .WithEnvironment("Bootstrap__AdminEmail", adminEmail)
    .WithEnvironment("Bootstrap__AdminPassword", adminPassword)
    .WithEnvironment("Auth__KeyEncryptionKey", keyEncryptionKey)
    .WithEnvironment("Internal__Token", internalToken);

var core = builder.AddProject("core", "../CoreService/CoreService.csproj")
    .WithReference(coreDb).WaitFor(coreDb)
    .WithReference(cache).WaitFor(cache)
    .WithReference(auth)
    .WithEnvironment("Internal__Token", internalToken)
    // Prices (Pricing__Models__<model>__PromptPer1K, ...) given to the AppHost reach the ledger that publishes them.
    .WithConfigurationSection("Pricing");

var mcp = builder.AddProject("mcp", "../McpServer/McpServer.csproj")
    .WithReference(cache).WaitFor(cache)
    .WithReference(core).WaitFor(core)
    .WithReference(auth)
    .WithEnvironment("Internal__Token", internalToken)
    // Model providers (Providers__<name>__Type|BaseUrl|ApiKey|Models__<i>) given to the AppHost go to McpServer only.
    .WithConfigurationSection("Providers")
    .WithConfigurationSection("Mock")
    .WithConfigurationSection("Cache");

builder.AddProject("gateway", "../Gateway/Gateway.csproj")
    .WithReference(cache).WaitFor(cache)
    .WithReference(auth).WaitFor(auth)
    .WithReference(core).WaitFor(core)
    .WithReference(mcp).WaitFor(mcp)
    .WithEnvironment("Internal__Token", internalToken)
    .WithExternalHttpEndpoints()
    .WithHttpEndpoint(port: builder.Configuration.GetValue("SMARTHUB_GATEWAY_PORT", 8080));

await builder.Build().RunAsync();

/// <summary>The AppHost entry point; public so that the testing builder can run it (CreateAsync&lt;Program&gt;).</summary>
public partial class Program;
