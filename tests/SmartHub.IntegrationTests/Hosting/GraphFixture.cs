using SmartHub.Hosting;
using SmartHub.Hosting.Testing;

namespace SmartHub.IntegrationTests.Hosting;

/// <summary>One running graph (real PostgreSQL, Redis and service processes) shared by the tests of a collection.</summary>
public sealed class GraphFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private IDistributedApplicationTestingBuilder? _builder;

    public DistributedApplication App { get; private set; } = null!;
    public HttpClient Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>();
        App = await _builder.BuildAsync();
        await App.StartAsync().WaitAsync(StartTimeout);
        Gateway = App.CreateHttpClient("gateway");
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        if (_builder is not null)
        {
            await _builder.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GraphCollection : ICollectionFixture<GraphFixture>
{
    public const string Name = "graph";
}
