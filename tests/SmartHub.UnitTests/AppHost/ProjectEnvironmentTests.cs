using SmartHub.Hosting;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.UnitTests.AppHost;

public sealed class ProjectEnvironmentTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "smarthub-unit-" + Guid.NewGuid().ToString("N"));

    private Dictionary<string, string> EnvironmentOf(OtlpExport? otlp)
    {
        var builder = new DistributedApplicationBuilder([]);
        var postgres = builder.AddPostgres("postgres");
        var db = postgres.AddDatabase("coredb");
        var cache = builder.AddRedis("cache");
        var core = builder.AddProject("core", "../CoreService/CoreService.csproj");
        var mcp = builder.AddProject("mcp", "../McpServer/McpServer.csproj").WithReference(cache).WithReference(core).WithReference(db).WithEnvironment("Custom__Setting", "42");
        foreach (var parameter in builder.Resources.OfType<ParameterResource>())
        {
            parameter.Value = "pw";
        }

        postgres.Resource.Port = 5432;
        cache.Resource.Port = 6379;
        core.Resource.Port = 7001;
        mcp.Resource.Port = 7002;
        var options = new HostOptions { StateDirectory = _path };
        using var state = StateFolder.Open(_path);
        var context = new RunContext(options, state, new ResourceNotificationService(), TimeProvider.System, name => new ResourceLog(name), otlp);
        using var http = new HttpClient();
        using var runner = new ProjectRunner(mcp.Resource, context, http);
        return runner.BuildEnvironment();
    }

    [Fact]
    public void Projects_get_the_environment_aspire_injects()
    {
        var env = EnvironmentOf(otlp: null);

        Assert.Equal("http://127.0.0.1:7002", env["ASPNETCORE_URLS"]);
        Assert.Equal("127.0.0.1:6379,password=pw", env["ConnectionStrings__cache"]);
        Assert.Equal("Host=127.0.0.1;Port=5432;Username=postgres;Password=pw;Database=coredb", env["ConnectionStrings__coredb"]);
        Assert.Equal("http://127.0.0.1:7001", env["services__core__http__0"]);
        Assert.Equal("mcp", env["OTEL_SERVICE_NAME"]);
        Assert.StartsWith("service.instance.id=mcp-", env["OTEL_RESOURCE_ATTRIBUTES"], StringComparison.Ordinal);
        Assert.Equal("42", env["Custom__Setting"]);
        Assert.False(env.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"));
        Assert.Equal("0", env["DOTNET_gcServer"]); // services share the machine: workstation GC
    }

    [Fact]
    public void Otlp_export_is_configured_only_when_the_apphost_has_an_endpoint()
    {
        var env = EnvironmentOf(otlp: new OtlpExport("http://127.0.0.1:18889", "grpc", "x-otlp-api-key=k"));

        Assert.Equal("http://127.0.0.1:18889", env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("grpc", env["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal("x-otlp-api-key=k", env["OTEL_EXPORTER_OTLP_HEADERS"]);
    }

    public void Dispose() => Directory.Delete(_path, recursive: true);
}
