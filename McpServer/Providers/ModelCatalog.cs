using System.Globalization;
using Microsoft.Extensions.Options;

namespace SmartHub.McpServer.Providers;

/// <summary>
/// The configured models and where each is served, read from section <c>Providers</c>:
/// <code>
/// Providers:&lt;name&gt;:Type          mock | openai | anthropic
/// Providers:&lt;name&gt;:BaseUrl       the API root (openai, anthropic), http or https
/// Providers:&lt;name&gt;:ApiKey        secret (never logged)
/// Providers:&lt;name&gt;:ApiKeyHeader  Authorization (Bearer, openai default) | x-api-key (anthropic default) | api-key | ...
/// Providers:&lt;name&gt;:Query         query string for every call (Azure OpenAI: api-version=2024-10-21)
/// Providers:&lt;name&gt;:Priority      order among a model's deployments, lower first (default 0, then by name)
/// Providers:&lt;name&gt;:Rpm           requests per minute for each of its models, across replicas (default none)
/// Providers:&lt;name&gt;:Timeout       one attempt, to the last token (default 00:01:00)
/// Providers:&lt;name&gt;:Enabled       false leaves the provider out (default true)
/// Providers:&lt;name&gt;:MaxTokensField  openai: max_tokens (default) | max_completion_tokens (OpenAI's o-series, gpt-5)
/// Providers:&lt;name&gt;:StreamUsage   openai: ask streams for the usage chunk (default true; false if the server refuses it)
/// Providers:&lt;name&gt;:Models:&lt;i&gt;     a model id, or an object: Id, Upstream, Rpm, Timeout, MaxOutputTokens, Priority
/// </code>
/// A model listed by several providers maps to all their deployments, in priority order: the first is tried first,
/// the others are fallbacks.
/// </summary>
public sealed class ModelCatalog
{
    public const string SectionName = "Providers";
    public const int MaxModelIdLength = 200;

    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { "mock", "openai", "anthropic" };

    private readonly Dictionary<string, IReadOnlyList<ChatDeployment>> _models = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Errors => _errors;

    private readonly List<string> _errors = [];

    /// <summary>Model ids in order, each with the provider of its first deployment.</summary>
    public IReadOnlyList<(string Model, string Provider)> Models { get; private set; } = [];

    public bool TryGet(string model, out IReadOnlyList<ChatDeployment> deployments) => _models.TryGetValue(model, out deployments!);

    public static ModelCatalog Load(IConfiguration providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var catalog = new ModelCatalog();
        var deployments = new List<ChatDeployment>();
        foreach (var provider in providers.GetChildren())
        {
            catalog.LoadProvider(provider, deployments);
        }

        foreach (var group in deployments.GroupBy(d => d.Model, StringComparer.Ordinal))
        {
            catalog._models[group.Key] = group.OrderBy(d => d.Priority).ThenBy(d => d.Provider, StringComparer.Ordinal).ToList();
        }

        catalog.Models = catalog._models.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, m.Value[0].Provider)).ToList();
        if (catalog._models.Count == 0 && catalog._errors.Count == 0)
        {
            catalog._errors.Add("Providers: no model is configured (the built-in mock provider is configured in appsettings.json; was it disabled?).");
        }

        return catalog;
    }

    private void LoadProvider(IConfigurationSection section, List<ChatDeployment> deployments)
    {
        var name = section.Key;
        var where = $"Providers:{name}";
        if (!bool.TryParse(section["Enabled"] ?? "true", out var enabled))
        {
            _errors.Add($"{where}:Enabled must be true or false.");
            return;
        }

        if (!enabled)
        {
            return;
        }

        var type = section["Type"];
        if (type is null || !Types.Contains(type))
        {
            _errors.Add($"{where}:Type must be one of {string.Join(", ", Types)} (was '{type}').");
            return;
        }

        Uri? baseUrl = null;
        if (type != "mock")
        {
            if (!Uri.TryCreate(section["BaseUrl"], UriKind.Absolute, out baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                _errors.Add($"{where}:BaseUrl must be an absolute http(s) URL (type {type}).");
                return;
            }

            // Relative paths (chat/completions, messages) resolve under the root whether or not it ends with a slash.
            if (!baseUrl.AbsolutePath.EndsWith('/'))
            {
                baseUrl = new Uri(baseUrl.GetLeftPart(UriPartial.Path) + "/" + baseUrl.Query);
            }
        }

        var apiKey = section["ApiKey"] is { Length: > 0 } key ? new ProviderSecret(key) : null;
        if (type == "anthropic" && apiKey is null)
        {
            _errors.Add($"{where}:ApiKey is required for type anthropic.");
        }

        var priority = ReadInt(section, "Priority", where, 0, -1000, 1000);
        var rpm = ReadOptionalInt(section, "Rpm", where, 1, 1_000_000);
        var timeout = ReadTimeSpan(section, "Timeout", where, TimeSpan.FromMinutes(1));
        var maxTokensField = section["MaxTokensField"] ?? "max_tokens";
        if (maxTokensField is not ("max_tokens" or "max_completion_tokens"))
        {
            _errors.Add($"{where}:MaxTokensField must be max_tokens or max_completion_tokens (was '{maxTokensField}').");
        }

        var streamUsage = true;
        if (section["StreamUsage"] is { } streamUsageText && !bool.TryParse(streamUsageText, out streamUsage))
        {
            _errors.Add($"{where}:StreamUsage must be true or false (was '{streamUsageText}').");
        }

        var models = section.GetSection("Models").GetChildren().ToList();
        if (models.Count == 0)
        {
            _errors.Add($"{where}:Models lists no model.");
        }

        foreach (var model in models)
        {
            var modelWhere = $"{where}:Models:{model.Key}";
            var id = model.Value ?? model["Id"];
            if (string.IsNullOrWhiteSpace(id) || id.Length > MaxModelIdLength || id.StartsWith("consensus:", StringComparison.Ordinal) || id.Any(char.IsWhiteSpace))
            {
                _errors.Add($"{modelWhere}: a model id must be 1-{MaxModelIdLength} characters without spaces and must not start with 'consensus:' (was '{id}').");
                continue;
            }

            deployments.Add(new ChatDeployment
            {
                Provider = name,
                Type = type,
                Model = id,
                UpstreamModel = model.Value is null && model["Upstream"] is { Length: > 0 } upstream ? upstream : id,
                BaseUrl = baseUrl,
                ApiKey = apiKey,
                ApiKeyHeader = section["ApiKeyHeader"] is { Length: > 0 } header ? header : null,
                Query = section["Query"] is { Length: > 0 } query ? query.TrimStart('?') : null,
                MaxTokensField = maxTokensField,
                StreamUsage = streamUsage,
                Priority = model.Value is null ? ReadInt(model, "Priority", modelWhere, priority, -1000, 1000) : priority,
                RequestsPerMinute = model.Value is null ? ReadOptionalInt(model, "Rpm", modelWhere, 1, 1_000_000) ?? rpm : rpm,
                Timeout = model.Value is null ? ReadTimeSpan(model, "Timeout", modelWhere, timeout) : timeout,
                MaxOutputTokens = model.Value is null ? ReadInt(model, "MaxOutputTokens", modelWhere, 4096, 1, 1_000_000) : 4096,
            });
        }
    }

    private int ReadInt(IConfiguration section, string key, string where, int fallback, int min, int max)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            _errors.Add($"{where}:{key} must be a whole number from {min} to {max} (was '{text}').");
            return fallback;
        }

        return value;
    }

    private int? ReadOptionalInt(IConfiguration section, string key, string where, int min, int max) =>
        section[key] is null ? null : ReadInt(section, key, where, min, min, max);

    private TimeSpan ReadTimeSpan(IConfiguration section, string key, string where, TimeSpan fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) || value < TimeSpan.FromSeconds(1) || value > TimeSpan.FromHours(1))
        {
            _errors.Add($"{where}:{key} must be a time span from 00:00:01 to 01:00:00 (was '{text}').");
            return fallback;
        }

        return value;
    }
}

/// <summary>Stops McpServer at start when the provider configuration is wrong, with every problem named.</summary>
internal sealed class ModelCatalogValidator : IValidateOptions<ModelCatalogHolder>
{
    public ValidateOptionsResult Validate(string? name, ModelCatalogHolder options) =>
        options.Catalog.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Catalog.Errors);
}

/// <summary>The catalog as an options value, so that it is validated at start like every other option.</summary>
internal sealed class ModelCatalogHolder
{
    public ModelCatalog Catalog { get; set; } = ModelCatalog.Load(new ConfigurationBuilder().Build());
}
