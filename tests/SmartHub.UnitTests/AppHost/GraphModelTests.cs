using SmartHub.Hosting;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.UnitTests.AppHost;

public sealed class GraphModelTests
{
    private static DistributedApplicationBuilder NewBuilder() => new([]);

    [Fact]
    public void Levels_put_dependencies_before_dependents()
    {
        var builder = NewBuilder();
        var postgres = builder.AddPostgres("postgres");
        var db = postgres.AddDatabase("coredb");
        var core = builder.AddProject("core", "../CoreService/CoreService.csproj").WithReference(db).WaitFor(db);
        builder.AddProject("gateway", "../Gateway/Gateway.csproj").WithReference(core).WaitFor(core);

        var levels = GraphOrder.Levels(builder.Resources).Select(l => l.Select(r => r.Name).Order().ToArray()).ToArray();

        Assert.Equal([["postgres-password"], ["postgres"], ["coredb"], ["core"], ["gateway"]], levels);
    }

    [Fact]
    public void Replicas_become_resources_of_their_own_with_the_same_references()
    {
        var builder = NewBuilder();
        var cache = builder.AddRedis("cache");
        builder.AddProject("gateway", "../Gateway/Gateway.csproj").WithReference(cache).WaitFor(cache).WithEnvironment("A", "1").WithReplicas(3);

        var app = builder.Build();

        var replicas = app.Resources.OfType<ProjectResource>().ToDictionary(p => p.Name);
        Assert.Equal(["gateway", "gateway-2", "gateway-3"], replicas.Keys.Order());
        Assert.All(replicas.Values, r => Assert.Equal([cache.Resource], r.References));
        Assert.All(replicas.Values, r => Assert.Equal([cache.Resource], r.WaitsFor));
        Assert.Equal("1", replicas["gateway-3"].Environment["A"].Evaluate());
        Assert.Same(replicas["gateway"], replicas["gateway-2"].ReplicaOf);
    }

    [Fact]
    public void A_cycle_is_rejected_with_its_path()
    {
        var builder = NewBuilder();
        var a = builder.AddProject("a", "../A/A.csproj");
        var b = builder.AddProject("b", "../B/B.csproj").WaitFor(a);
        a.WaitFor(b);

        var error = Assert.Throws<DistributedApplicationException>(() => GraphOrder.Levels(builder.Resources));

        Assert.Contains("a -> b -> a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resource_names_are_unique()
    {
        var builder = NewBuilder();
        builder.AddRedis("cache");

        var error = Assert.Throws<DistributedApplicationException>(() => builder.AddRedis("cache"));

        Assert.Contains("'cache' already exists", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Cache")]
    [InlineData("1db")]
    [InlineData("core_db")]
    [InlineData("db-")]
    public void Resource_names_must_be_dns_labels(string name) =>
        Assert.Throws<ArgumentException>(() => NewBuilder().AddRedis(name));

    [Fact]
    public void Postgres_and_redis_get_generated_password_parameters_named_as_in_aspire()
    {
        var builder = NewBuilder();
        builder.AddPostgres("postgres");
        builder.AddRedis("cache");

        var secrets = builder.Resources.OfType<ParameterResource>().Where(p => p.Secret).Select(p => p.Name).Order();

        Assert.Equal(["cache-password", "postgres-password"], secrets);
    }

    [Fact]
    public void Connection_strings_follow_aspire_formats()
    {
        var password = new ParameterResource("postgres-password", secret: true) { Value = "s3cret" };
        var server = new PostgresServerResource("postgres", password) { Port = 5555 };
        var database = new PostgresDatabaseResource("coredb", "coredb", server);
        var redis = new RedisResource("cache", new ParameterResource("cache-password", true) { Value = "r3dis" }) { Port = 6666 };

        Assert.Equal("Host=127.0.0.1;Port=5555;Username=postgres;Password=s3cret;Database=coredb", database.GetConnectionString());
        Assert.Equal("127.0.0.1:6666,password=r3dis", redis.GetConnectionString());
    }
}
