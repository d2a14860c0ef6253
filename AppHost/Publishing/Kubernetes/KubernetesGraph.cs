using System.Security.Cryptography;

namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>What one project's container is given: plain settings, keys of the shared Secret, and its own secrets.</summary>
internal sealed class ProjectEnvironment
{
    /// <summary>Plain settings: the project's ConfigMap (never a secret value).</summary>
    public SortedDictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>Environment variable → key of the shared Secret (<c>smarthub-secrets</c>), read with secretKeyRef.</summary>
    public SortedDictionary<string, string> SharedSecrets { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Secret settings given to the AppHost as plain configuration (a provider's <c>ApiKey</c>): written as
    /// <see cref="KubernetesGraph.Placeholder"/> into the project's own Secret, never copied.
    /// </summary>
    public SortedDictionary<string, string> OwnSecrets { get; } = new(StringComparer.Ordinal);

    public void SetSetting(string name, string value)
    {
        SharedSecrets.Remove(name);
        OwnSecrets.Remove(name);
        Settings[name] = value;
    }

    public void SetSharedSecret(string name, string key)
    {
        Settings.Remove(name);
        OwnSecrets.Remove(name);
        SharedSecrets[name] = key;
    }

    public void SetOwnSecret(string name)
    {
        Settings.Remove(name);
        SharedSecrets.Remove(name);
        OwnSecrets[name] = KubernetesGraph.Placeholder;
    }
}

/// <summary>
/// The application graph as Kubernetes sees it: every project a Deployment on port 8080 behind a Service of its own
/// name (so <c>http://core:8080</c> works), PostgreSQL and Redis as StatefulSets on their standard ports, secret
/// parameters and connection strings in one Secret.
/// </summary>
internal sealed class KubernetesGraph
{
    public const int HttpPort = 8080;
    public const int PostgresPort = 5432;
    public const int RedisPort = 6379;

    /// <summary>The value of a secret the operator supplies (a provider's API key).</summary>
    public const string Placeholder = "REPLACE_ME";

    /// <summary>The Secret with the graph's secret parameters and connection strings.</summary>
    public const string SharedSecretName = "smarthub-secrets";

    private KubernetesGraph(IReadOnlyList<Resource> resources)
    {
        Resources = resources;
        Projects = resources.OfType<ProjectResource>().Where(p => p.ReplicaOf is null).ToList();
        PostgresServers = resources.OfType<PostgresServerResource>().ToList();
        RedisServers = resources.OfType<RedisResource>().ToList();
        Parameters = resources.OfType<ParameterResource>().ToList();
    }

    public IReadOnlyList<Resource> Resources { get; }
    public IReadOnlyList<ProjectResource> Projects { get; }
    public IReadOnlyList<PostgresServerResource> PostgresServers { get; }
    public IReadOnlyList<RedisResource> RedisServers { get; }
    public IReadOnlyList<ParameterResource> Parameters { get; }

    public Dictionary<string, ProjectEnvironment> Environments { get; } = new(StringComparer.Ordinal);

    public static KubernetesGraph From(IReadOnlyList<Resource> resources)
    {
        var graph = new KubernetesGraph(resources);
        if (graph.Projects.Count == 0)
        {
            throw new DistributedApplicationException("Cannot publish for Kubernetes: the graph has no project.");
        }

        foreach (var project in graph.Projects)
        {
            graph.Environments[project.Name] = EnvironmentOf(project);
        }

        return graph;
    }

    /// <summary>The environment Aspire gives a project (ProjectRunner.BuildEnvironment), in a cluster's terms.</summary>
    private static ProjectEnvironment EnvironmentOf(ProjectResource project)
    {
        var env = new ProjectEnvironment();
        env.SetSetting("ASPNETCORE_HTTP_PORTS", HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        env.SetSetting("ASPNETCORE_ENVIRONMENT", "Production");
        env.SetSetting("DOTNET_ENVIRONMENT", "Production");
        env.SetSetting("OTEL_SERVICE_NAME", project.Name);
        env.SetSetting("Logging__Console__FormatterName", "json");
        if (project.IsExternal)
        {
            // The Ingress controller is this project's TCP peer: without trusting it, every client would share its
            // per-IP rate-limit bucket and audit address (Gateway/README.md). Only the controller's namespace may reach
            // the pods (NetworkPolicy), so trusting the private ranges pod addresses come from is safe; narrow them to
            // the controller's pod network in an overlay if the cluster does not enforce NetworkPolicies.
            string[] networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
            for (var i = 0; i < networks.Length; i++)
            {
                env.SetSetting($"Gateway__TrustedProxies__Networks__{i}", networks[i]);
            }

            env.SetSetting("Gateway__TrustedProxies__ForwardLimit", "1");
        }

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString:
                    var key = ConnectionStringKey(reference.Name);
                    env.SetSharedSecret(key, key);
                    break;
                case ProjectResource service:
                    env.SetSetting($"services__{service.Name}__http__0", $"http://{service.Name}:{HttpPort}");
                    break;
            }
        }

        foreach (var (name, value) in project.Environment)
        {
            switch (value.Parameter)
            {
                case { Secret: true } secret:
                    env.SetSharedSecret(name, secret.Name);
                    break;
                case { } plain:
                    env.SetSetting(name, plain.DefaultValue ?? Placeholder);
                    break;
                case null when PublishedEnvironment.IsSecretKey(name):
                    // A credential given as plain configuration (a provider's ApiKey): never copied, the same rule as the manifest's.
                    env.SetOwnSecret(name);
                    break;
                case null:
                    env.SetSetting(name, value.Expression);
                    break;
            }
        }

        return env;
    }

    public static string ConnectionStringKey(string resourceName) => $"ConnectionStrings__{resourceName}";


    /// <summary>
    /// The shared Secret's values: each secret parameter (kept from <paramref name="existing"/>, else generated), then
    /// each connection string a project uses (kept, else built from the passwords). An operator's edits survive a
    /// re-publish; a password is never changed under a database that was initialized with it.
    /// </summary>
    public List<KeyValuePair<string, string>> SharedSecretValues(IReadOnlyDictionary<string, string> existing)
    {
        var values = new List<KeyValuePair<string, string>>();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in Parameters.Where(p => p.Secret))
        {
            var value = existing.TryGetValue(parameter.Name, out var kept) && kept.Length > 0 ? kept : Generate(parameter.GeneratedLength);
            parameters[parameter.Name] = value;
            values.Add(new(parameter.Name, value));
        }

        foreach (var resource in Projects.SelectMany(p => p.References).Distinct().Where(r => r is IResourceWithConnectionString))
        {
            var key = ConnectionStringKey(resource.Name);
            var value = existing.TryGetValue(key, out var kept) && kept.Length > 0 ? kept : ConnectionString(resource, parameters);
            values.Add(new(key, value));
        }

        return values;
    }

    /// <summary>The connection string a project gets for <paramref name="resource"/> inside the namespace (Aspire's formats).</summary>
    private static string ConnectionString(Resource resource, Dictionary<string, string> parameters) => resource switch
    {
        PostgresDatabaseResource database =>
            $"{PostgresConnection(database.Parent, parameters)};Database={database.DatabaseName}",
        PostgresServerResource server => PostgresConnection(server, parameters),
        RedisResource redis => $"{redis.Name}:{RedisPort},password={Password(redis.Password, parameters)}",
        _ => throw new DistributedApplicationException($"Cannot publish {resource} for Kubernetes: no connection string is known for it."),
    };

    private static string PostgresConnection(PostgresServerResource server, Dictionary<string, string> parameters) =>
        $"Host={server.Name};Port={PostgresPort};Username={PostgresServerResource.UserName};Password={Password(server.Password, parameters)}";

    private static string Password(ParameterResource parameter, Dictionary<string, string> parameters) =>
        parameters.TryGetValue(parameter.Name, out var value)
            ? value
            : throw new DistributedApplicationException($"Parameter '{parameter.Name}' must be a secret: it is a password.");

    /// <summary>As the AppHost generates a parameter (letters and digits: safe in connection strings and URLs).</summary>
    private static string Generate(int length) =>
        RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", Math.Max(length, 32));

    /// <summary>Projects that reference <paramref name="target"/> (or, for a PostgreSQL server, one of its databases).</summary>
    public IEnumerable<ProjectResource> Clients(Resource target) =>
        Projects.Where(p => p.References.Any(r => r == target || (r is PostgresDatabaseResource db && db.Parent == target)));

    /// <summary>The workloads a project connects to: projects, PostgreSQL servers and Redis servers (names and ports).</summary>
    public static IEnumerable<(string Name, int Port)> Dependencies(ProjectResource project) =>
        project.References.Select(r => r switch
        {
            ProjectResource p => (p.Name, HttpPort),
            PostgresDatabaseResource db => (db.Parent.Name, PostgresPort),
            PostgresServerResource server => (server.Name, PostgresPort),
            RedisResource redis => (redis.Name, RedisPort),
            _ => throw new DistributedApplicationException($"Cannot publish {r} for Kubernetes: it is not a project, PostgreSQL or Redis."),
        }).Distinct();
}
