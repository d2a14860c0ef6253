namespace SmartHub.McpServer.Providers;

/// <summary>
/// What the HTTP providers (openai, anthropic) share: where their HttpClient comes from (a factory client per call in
/// the hub, or one given client in tests and tools), the clock for Retry-After dates, and the send with error mapping
/// (<see cref="ProviderHttp.SendAsync"/>).
/// </summary>
public abstract class HttpChatProvider : IChatProvider
{
    private readonly Func<HttpClient> _http;
    private readonly TimeProvider _timeProvider;

    protected HttpChatProvider(IHttpClientFactory httpClientFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
        _http = () => httpClientFactory.CreateClient(ProviderExtensions.HttpClientName);
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    protected HttpChatProvider(HttpClient httpClient, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        _http = () => httpClient;
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    public abstract string Type { get; }

    public abstract Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken);

    public abstract IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, CancellationToken cancellationToken);

    protected Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, ChatDeployment deployment, CancellationToken cancellationToken) =>
        ProviderHttp.SendAsync(_http(), request, deployment, _timeProvider, cancellationToken);
}
