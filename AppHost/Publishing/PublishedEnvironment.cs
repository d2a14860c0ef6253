using System.Text;

namespace SmartHub.Hosting.Publishing;

/// <summary>
/// The value of an environment variable as a deployment receives it: not evaluated (no secret is resolved), but
/// described, so that each publisher writes it in its own terms (a manifest expression, a Kubernetes Secret reference…).
/// </summary>
internal abstract record PublishedValue
{
    /// <summary>A fixed value, safe to write as it is.</summary>
    public sealed record Literal(string Value) : PublishedValue;

    /// <summary>The value of a parameter declared in the graph (<c>{name.value}</c>).</summary>
    public sealed record Parameter(ParameterResource Resource) : PublishedValue;

    /// <summary>
    /// A literal of the AppHost whose key names a secret (<c>Providers__openai__ApiKey</c>): never written; the operator
    /// supplies it as the secret parameter <see cref="SecretInput.Name"/>.
    /// </summary>
    public sealed record Secret(SecretInput Input) : PublishedValue;

    /// <summary>The connection string of a resource (<c>{name.connectionString}</c>).</summary>
    public sealed record ConnectionString(Resource Resource) : PublishedValue;

    /// <summary>The URL of a project's HTTP endpoint (<c>{name.bindings.http.url}</c>).</summary>
    public sealed record ServiceUrl(ProjectResource Project) : PublishedValue;

    /// <summary>The port the project listens on inside its container (<c>{name.bindings.http.targetPort}</c>).</summary>
    public sealed record HttpTargetPort(ProjectResource Project) : PublishedValue;
}

/// <summary>A secret the operator supplies at deployment time, standing for an AppHost literal that must not be published.</summary>
/// <param name="Name">A resource name (DNS label) unique in the graph, e.g. <c>providers-openai-apikey</c>.</param>
/// <param name="Key">The environment variable it was found under, e.g. <c>Providers__openai__ApiKey</c>.</param>
internal sealed record SecretInput(string Name, string Key);

/// <summary>
/// What a resource's environment is once published, shared by the publishers: the variables Aspire injects into a
/// project in publish mode, its references, then its own entries — with every literal whose key names a secret turned
/// into a <see cref="SecretInput"/>. Configuration sections forwarded with <c>WithConfigurationSection</c> are literals
/// read from the AppHost's configuration at publish time, so a provider's API key set on the publishing machine would
/// otherwise reach the published files.
/// </summary>
/// <remarks>
/// Local-only choices of <see cref="Orchestration.ProjectRunner"/> are left out: DOTNET_gcServer=0 (every service
/// sharing one machine's cores), ASPNETCORE_URLS on a loopback port, the dashboard's OTLP endpoint and its API key.
/// </remarks>
internal sealed class PublishedEnvironment
{
    /// <summary>Section names whose children are all secrets, whatever they are called (<c>Auth__Secrets__Signing</c>).</summary>
    private static readonly string[] SecretSections = ["secrets", "credentials", "passwords"];

    /// <summary>Words that make the last segment of a key a secret wherever they appear in it.</summary>
    private static readonly string[] SecretWords = ["password", "passwd", "secret", "credential", "authorization", "connectionstring", "privatekey"];

    /// <summary>Endings that make the last segment of a key a secret (<c>ApiKey</c>, <c>AccessToken</c>) but not <c>KeyPrefix</c> or <c>MaxTokens</c>.</summary>
    private static readonly string[] SecretEndings = ["key", "token", "pwd", "passphrase"];

    private readonly HashSet<string> _names;
    private readonly Dictionary<(string Key, string Value), SecretInput> _inputs = [];
    private readonly List<SecretInput> _inputsInOrder = [];

    public PublishedEnvironment(IReadOnlyList<Resource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        _names = resources.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);

        // Named once for the whole graph, in declaration order, so that every publisher and every project agree.
        foreach (var resource in resources)
        {
            foreach (var (key, value) in resource.Environment)
            {
                if (value.Parameter is null && IsSecretKey(key))
                {
                    InputFor(key, value.Evaluate());
                }
            }
        }
    }

    /// <summary>The secrets the operator supplies (literals of the AppHost that were not published), in first-use order.</summary>
    public IReadOnlyList<SecretInput> SecretInputs => _inputsInOrder;

    /// <summary>The environment of a project: what Aspire injects in publish mode, its references, then its own entries.</summary>
    public OrderedDictionary<string, PublishedValue> For(ProjectResource project)
    {
        ArgumentNullException.ThrowIfNull(project);
        var env = new OrderedDictionary<string, PublishedValue>(StringComparer.Ordinal)
        {
            // As Aspire's WithOtlpExporter in publish mode: the exporter's endpoint is the deployment's business.
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES"] = new PublishedValue.Literal("true"),
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES"] = new PublishedValue.Literal("true"),
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = new PublishedValue.Literal("in_memory"),
            // Behind an ingress or a load balancer: the client's scheme and address come from X-Forwarded-*.
            ["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = new PublishedValue.Literal("true"),
            ["HTTP_PORTS"] = new PublishedValue.HttpTargetPort(project),
        };

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString:
                    env[$"ConnectionStrings__{reference.Name}"] = new PublishedValue.ConnectionString(reference);
                    break;
                case ProjectResource service:
                    env[$"services__{service.Name}__http__0"] = new PublishedValue.ServiceUrl(service);
                    break;
            }
        }

        foreach (var (key, value) in Own(project))
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>The resource's own entries (<c>WithEnvironment</c>, <c>WithConfigurationSection</c>), secrets replaced.</summary>
    public IEnumerable<KeyValuePair<string, PublishedValue>> Own(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        foreach (var (key, value) in resource.Environment)
        {
            PublishedValue published = value.Parameter is { } parameter
                ? new PublishedValue.Parameter(parameter)
                : IsSecretKey(key)
                    ? new PublishedValue.Secret(InputFor(key, value.Evaluate()))
                    : new PublishedValue.Literal(value.Evaluate());
            yield return new(key, published);
        }
    }

    /// <summary>
    /// True when an environment variable's name says it holds a secret: its last segment contains password, secret,
    /// credential, authorization, connectionstring or privatekey, or ends with key, token, pwd or passphrase (ApiKey,
    /// AccessToken; not KeyPrefix or MaxTokens); or a segment before it is a Secrets/Credentials/Passwords section.
    /// </summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var segments = key.Split(["__", ":"], StringSplitOptions.RemoveEmptyEntries)
            .Select(s => new string(s.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant())
            .Where(s => s.Length > 0 && !s.All(char.IsAsciiDigit))
            .ToList();
        if (segments.Count == 0)
        {
            return false;
        }

        var last = segments[^1];
        return SecretWords.Any(w => last.Contains(w, StringComparison.Ordinal))
            || SecretEndings.Any(e => last.EndsWith(e, StringComparison.Ordinal))
            || segments.Take(segments.Count - 1).Any(s => SecretSections.Contains(s, StringComparer.Ordinal));
    }

    /// <summary>A resource name for the secret found under <paramref name="key"/>: <c>Providers__openai__ApiKey</c> → <c>providers-openai-apikey</c>.</summary>
    internal static string NameFor(string key)
    {
        var name = new StringBuilder(key.Length);
        foreach (var c in key.ToLowerInvariant())
        {
            var keep = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
            if (keep)
            {
                name.Append(c);
            }
            else if (name.Length > 0 && name[^1] != '-')
            {
                name.Append('-');
            }
        }

        var result = name.ToString().Trim('-');
        if (result.Length == 0 || !char.IsAsciiLetterLower(result[0]))
        {
            result = "secret-" + result;
        }

        return Truncate(result, 63);
    }

    private SecretInput InputFor(string key, string value)
    {
        // The same key with the same value (a configuration section forwarded to two projects) is one secret; the same
        // key with different values (two WithEnvironment literals) is two.
        if (_inputs.TryGetValue((key, value), out var input))
        {
            return input;
        }

        var baseName = NameFor(key);
        var name = baseName;
        for (var i = 2; !_names.Add(name); i++)
        {
            var suffix = $"-{i}";
            name = Truncate(baseName, 63 - suffix.Length) + suffix;
        }

        input = new SecretInput(name, key);
        _inputs[(key, value)] = input;
        _inputsInOrder.Add(input);
        return input;
    }

    private static string Truncate(string name, int length) => name.Length <= length ? name : name[..length].TrimEnd('-');
}
