namespace SmartHub.McpServer.Providers;

/// <summary>
/// One place a model is served: provider <see cref="Provider"/> (its configured name) of type <see cref="Type"/>, which
/// knows the model as <see cref="UpstreamModel"/>. Models map to ordered lists of deployments (<see cref="ModelCatalog"/>).
/// </summary>
public sealed class ChatDeployment
{
    public required string Provider { get; init; }

    public required string Type { get; init; }

    /// <summary>The model id clients use.</summary>
    public required string Model { get; init; }

    /// <summary>The model id the provider uses (defaults to <see cref="Model"/>).</summary>
    public required string UpstreamModel { get; init; }

    /// <summary>The provider's API root (null for the built-in mock), e.g. https://api.openai.com/v1.</summary>
    public Uri? BaseUrl { get; init; }

    public ProviderSecret? ApiKey { get; init; }

    /// <summary>The header that carries the key: <c>Authorization</c> (as "Bearer key", the default for openai),
    /// <c>x-api-key</c> (anthropic's default) or any other (e.g. Azure OpenAI's <c>api-key</c>).</summary>
    public string? ApiKeyHeader { get; init; }

    /// <summary>Query string added to every call (e.g. Azure OpenAI's <c>api-version=2024-10-21</c>).</summary>
    public string? Query { get; init; }

    /// <summary>
    /// openai: the request member that carries the output limit, <c>max_tokens</c> (the default, which every
    /// OpenAI-compatible server takes) or <c>max_completion_tokens</c> (OpenAI's o-series and newer models want it).
    /// </summary>
    public string MaxTokensField { get; init; } = "max_tokens";

    /// <summary>openai: streams ask for the usage chunk (<c>stream_options.include_usage</c>); false for servers that refuse it.</summary>
    public bool StreamUsage { get; init; } = true;

    /// <summary>Order among the model's deployments: lower first.</summary>
    public int Priority { get; init; }

    /// <summary>Requests per minute this deployment accepts from the whole hub (all replicas); null: no limit.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>Time one attempt may take (to the last token of a stream).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Output limit when the caller gives none.</summary>
    public int MaxOutputTokens { get; init; } = 4096;

    /// <summary>"provider/upstream-model": the deployment's name in logs, metrics and the X-SmartHub-Provider header.</summary>
    public string Name => $"{Provider}/{UpstreamModel}";

    public override string ToString() => Name;
}

/// <summary>An API key. Its <see cref="ToString"/> is a mask, so it never reaches a log, a trace or an error by accident.</summary>
public sealed class ProviderSecret(string value)
{
    public string Reveal() => value;

    public override string ToString() => "[redacted]";
}
