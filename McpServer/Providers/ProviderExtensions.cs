using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace SmartHub.McpServer.Providers;

public static class ProviderExtensions
{
    /// <summary>The name of the HttpClient providers call upstreams with (no total timeout: streams last; the router times attempts).</summary>
    public const string HttpClientName = "SmartHub.Providers";

    /// <summary>
    /// The model catalog (section <c>Providers</c>, validated at start) and one <see cref="IChatProvider"/> per type.
    /// </summary>
    public static IHostApplicationBuilder AddProviders(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ModelCatalogHolder>()
            .Configure<IConfiguration>((holder, configuration) => holder.Catalog = ModelCatalog.Load(configuration.GetSection(ModelCatalog.SectionName)))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ModelCatalogHolder>, ModelCatalogValidator>();
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<ModelCatalogHolder>>().Value.Catalog);

        builder.Services.AddOptions<MockProviderOptions>().BindConfiguration(MockProviderOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IChatProvider>(services => new MockProvider(
            services.GetRequiredService<IOptions<MockProviderOptions>>().Value, services.GetRequiredService<TimeProvider>()));
        builder.Services.AddHttpClient(HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreateHttpHandler)
            // Not the service defaults' handlers: upstreams are not service names to resolve (a BaseUrl like
            // http://ollama:11434 is taken as given), our correlation ids are not third parties' business, and the
            // router does the retrying.
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Clear())
            .RedactLoggedHeaders(_ => true);
        builder.Services.AddSingleton<IChatProvider>(services => new OpenAiProvider(
            services.GetRequiredService<IHttpClientFactory>(), services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IChatProvider>(services => new AnthropicProvider(
            services.GetRequiredService<IHttpClientFactory>(), services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ProviderRegistry>();
        return builder;
    }

    /// <summary>
    /// The socket handler under <see cref="HttpClientName"/>. A response left unread (the caller cancelled a stream, or
    /// stopped reading it) closes its connection at once instead of being drained for reuse: the upstream sees the
    /// abort and stops generating (and billing) the answer nobody reads.
    /// </summary>
    public static SocketsHttpHandler CreateHttpHandler() => new()
    {
        MaxResponseDrainSize = 0,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        EnableMultipleHttp2Connections = true,
    };
}

/// <summary>The provider for a deployment's type.</summary>
public sealed class ProviderRegistry(IEnumerable<IChatProvider> providers)
{
    private readonly Dictionary<string, IChatProvider> _byType = providers.ToDictionary(p => p.Type, StringComparer.Ordinal);

    public IChatProvider For(ChatDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return _byType.TryGetValue(deployment.Type, out var provider)
            ? provider
            : throw new InvalidOperationException($"No provider implements type '{deployment.Type}'.");
    }
}
