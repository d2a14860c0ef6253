namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>
/// <c>--publisher kubernetes --output-path DIR</c>: a kustomize tree. <c>base/</c> holds every object of the graph
/// (Deployments with probes, resources and restricted security contexts, Services named after the resources, HPAs,
/// PDBs, PostgreSQL and Redis StatefulSets, NetworkPolicies, the Ingress, monitoring ConfigMaps, generated Secrets);
/// <c>overlays/development</c> and <c>overlays/production</c> size it. Secrets are generated into git-ignored env files
/// of the output folder and kept when publishing again.
/// </summary>
internal sealed class KubernetesPublisher : IPublisher
{
    /// <summary>
    /// Projects that reach the model providers over the internet: McpServer, the only project the AppHost gives the
    /// <c>Providers</c> section (Program.cs).
    /// </summary>
    private static readonly HashSet<string> s_internetEgress = new(StringComparer.Ordinal) { "mcp" };

    public const string Header = "Written by the SmartHub AppHost: dotnet run --project AppHost -- --publisher kubernetes --output-path DIR.\n"
        + "Publishing again rewrites this file; change a deployment in an overlay instead.";

    public async Task<IReadOnlyList<string>> PublishAsync(PublishContext context, CancellationToken cancellationToken)
    {
        if (File.Exists(context.Options.OutputPath))
        {
            throw new DistributedApplicationException($"Cannot publish for Kubernetes: --output-path {context.Options.OutputPath} is a file; give a folder.");
        }

        try
        {
            return await WriteTreeAsync(context, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The operator's problem (a read-only or full disk, permissions), said without a stack trace.
            throw new DistributedApplicationException($"Cannot write the Kubernetes manifests to {context.Options.OutputPath}: {ex.Message}");
        }
    }

    private static async Task<IReadOnlyList<string>> WriteTreeAsync(PublishContext context, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var graph = KubernetesGraph.From(context.Resources);
        var tree = new OutputTree(options.OutputPath);
        var monitoring = MonitoringFiles(context.AppHostDirectory);

        var resources = new List<string> { "namespace.yaml" };
        await tree.WriteAsync("base/namespace.yaml", Yaml.Documents(Header, Manifests.Namespace(options.Namespace)), cancellationToken);

        foreach (var project in graph.Projects)
        {
            var component = Manifests.ComponentOf(project);
            var file = $"{project.Name}.yaml";
            await tree.WriteAsync($"base/{file}", Yaml.Documents(
                $"{Header}\n{project.Name}: {Path.GetFileName(project.ProjectPath)}, image {ImageName(project, options)}.",
                Manifests.Deployment(project, ImageName(project, options), graph.Environments[project.Name]),
                Manifests.Service(project.Name, component, "http", KubernetesGraph.HttpPort),
                Manifests.HorizontalPodAutoscaler(project),
                Manifests.PodDisruptionBudget(project.Name, component)), cancellationToken);
            resources.Add(file);
        }

        foreach (var server in graph.PostgresServers)
        {
            var file = $"{server.Name}.yaml";
            await tree.WriteAsync($"base/{file}", Yaml.Documents(
                $"{Header}\nPostgreSQL '{server.Name}' ({Manifests.PostgresImage}): one pod with its volume; headless Service '{server.Name}'.",
                Manifests.PostgresStatefulSet(server),
                Manifests.Service(server.Name, "database", "postgres", KubernetesGraph.PostgresPort, headless: true)), cancellationToken);
            await tree.WriteAsync($"base/{Manifests.InitdbConfigMapName(server)}/10-create-databases.sql", Manifests.InitdbSql(server), cancellationToken);
            resources.Add(file);
        }

        foreach (var redis in graph.RedisServers)
        {
            var file = $"{redis.Name}.yaml";
            await tree.WriteAsync($"base/{file}", Yaml.Documents(
                $"{Header}\nRedis '{redis.Name}' ({Manifests.RedisImage}): append-only persistence on its volume; headless Service '{redis.Name}'.",
                Manifests.RedisStatefulSet(redis),
                Manifests.Service(redis.Name, "cache", "redis", KubernetesGraph.RedisPort, headless: true)), cancellationToken);
            resources.Add(file);
        }

        await tree.WriteAsync("base/network-policies.yaml", Yaml.Documents(
            $"{Header}\nDefault deny; DNS; each workload's connections as the AppHost's graph references them; the Ingress controller\n"
            + $"(namespace {Manifests.IngressControllerNamespace}) to the gateway; Prometheus (namespace {Manifests.MonitoringNamespace}) to /metrics; HTTPS to public addresses\n"
            + "from the projects that call model providers.",
            Manifests.NetworkPolicies(graph, s_internetEgress)), cancellationToken);
        resources.Add("network-policies.yaml");

        var external = graph.Projects.Where(p => p.IsExternal).ToList();
        if (external.Count > 0)
        {
            await tree.WriteAsync("base/ingress.yaml", Yaml.Documents(
                $"{Header}\nHost and TLS: overlays/production/patches/ingress.yaml.",
                external.Select((p, i) => Manifests.Ingress(p, i == 0 ? Manifests.DefaultHost : $"{p.Name}.{Manifests.DefaultHost}"))), cancellationToken);
            resources.Add("ingress.yaml");
        }

        foreach (var (source, name) in monitoring)
        {
            await tree.WriteAsync($"base/monitoring/{name}", await File.ReadAllTextAsync(source, cancellationToken), cancellationToken);
        }

        var secretFiles = await WriteSecretsAsync(tree, graph, cancellationToken);
        await tree.WriteAsync("base/kustomization.yaml", Yaml.Documents(Header,
            BaseKustomization(graph, options, resources, monitoring.Select(m => m.Name).ToList(), secretFiles)), cancellationToken);

        await Overlays.WriteAsync(tree, graph, cancellationToken);
        await tree.WriteAsync(".gitignore", KubernetesReadme.GitIgnore, cancellationToken);
        await tree.WriteAsync("images.txt", string.Concat(graph.Projects.Select(p => ImageName(p, options) + "\n")), cancellationToken);
        await tree.WriteAsync("README.md", KubernetesReadme.Text(graph, options), cancellationToken);
        return tree.Written;
    }

    /// <summary><c>{registry/}smarthub-&lt;name&gt;:{tag}</c>: what <c>dotnet publish -t:PublishContainer</c> names the project's image.</summary>
    public static string ImageName(ProjectResource project, PublishOptions options) =>
        $"{(options.ImageRegistry is { } registry ? registry + "/" : string.Empty)}{RepositoryName(project)}:{options.ImageTag}";

    public static string RepositoryName(ProjectResource project) => $"smarthub-{project.Name}";

    /// <summary>The alert rules and Grafana dashboards of deploy/, copied into the tree for configMapGenerators.</summary>
    private static List<(string Source, string Name)> MonitoringFiles(string appHostDirectory)
    {
        var deploy = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(appHostDirectory))!, "deploy");
        var rules = Path.Combine(deploy, "prometheus", "smarthub-alerts.yml");
        var dashboards = Path.Combine(deploy, "grafana");
        if (!File.Exists(rules) || !Directory.Exists(dashboards))
        {
            throw new DistributedApplicationException($"Cannot publish for Kubernetes: {rules} and {dashboards}/*.json are missing (the monitoring ConfigMaps are made from them).");
        }

        var files = new List<(string, string)> { (rules, Path.GetFileName(rules)) };
        files.AddRange(Directory.GetFiles(dashboards, "*.json").Order(StringComparer.Ordinal).Select(f => (f, Path.GetFileName(f))));
        return files;
    }

    /// <summary>
    /// <c>base/secrets/shared.env</c> (secret parameters and connection strings, generated once and kept) and one
    /// <c>base/secrets/&lt;project&gt;.env</c> per project for its own secrets (placeholders; an operator's file is
    /// never rewritten, only given the placeholders it lacks). Mode 0600; git-ignored by the tree's .gitignore.
    /// </summary>
    private static async Task<List<(string Name, string File)>> WriteSecretsAsync(OutputTree tree, KubernetesGraph graph, CancellationToken cancellationToken)
    {
        var shared = tree.PathOf("base/secrets/shared.env");
        var values = graph.SharedSecretValues(EnvFile.Read(shared));
        await tree.WriteSecretAsync("base/secrets/shared.env", EnvFile.Format(
            "Secret smarthub-secrets: the AppHost's secret parameters (generated at the first publish into this folder, kept\n"
            + "since) and the connection strings built from them. Never commit this file (see ../../.gitignore).\n"
            + "A password here must match what its server was initialized with: PostgreSQL's data volume keeps the first one.",
            values), cancellationToken);

        var files = new List<(string, string)> { (KubernetesGraph.SharedSecretName, "secrets/shared.env") };
        foreach (var project in graph.Projects)
        {
            var relative = $"base/secrets/{project.Name}.env";
            var existing = EnvFile.Read(tree.PathOf(relative));
            var placeholders = graph.Environments[project.Name].OwnSecrets.Where(s => !existing.ContainsKey(s.Key)).ToList();
            if (File.Exists(tree.PathOf(relative)))
            {
                if (placeholders.Count > 0)
                {
                    await tree.AppendSecretAsync(relative, EnvFile.Format("Added by a later publish:", placeholders), cancellationToken);
                }
            }
            else
            {
                await tree.WriteSecretAsync(relative, EnvFile.Format(
                    $"Secret {Manifests.OwnSecretName(project.Name)}: secret settings of '{project.Name}' only, all of them given to it as environment\n"
                    + "variables (envFrom). Replace each REPLACE_ME; add more as NAME=value lines, e.g. a model provider's key\n"
                    + "for mcp: Providers__openai__ApiKey=... (its Type, BaseUrl and Models go to the ConfigMap, see ../../README.md).\n"
                    + "Values given to the AppHost's configuration are never copied here. Never commit this file.",
                    placeholders), cancellationToken);
            }

            files.Add((Manifests.OwnSecretName(project.Name), $"secrets/{project.Name}.env"));
        }

        return files;
    }

    private static YamlMap BaseKustomization(KubernetesGraph graph, PublishOptions options, List<string> resources, List<string> monitoring, List<(string Name, string File)> secrets)
    {
        var configMaps = new List<object>();
        foreach (var project in graph.Projects)
        {
            configMaps.Add(new YamlMap
            {
                ["name"] = Manifests.ConfigMapName(project.Name),
                ["literals"] = graph.Environments[project.Name].Settings.Select(s => $"{s.Key}={KustomizeLiteral(s.Value)}").ToList(),
                ["options"] = new YamlMap { ["labels"] = Manifests.Labels(project.Name, Manifests.ComponentOf(project)) },
            });
        }

        foreach (var server in graph.PostgresServers)
        {
            configMaps.Add(new YamlMap
            {
                ["name"] = Manifests.InitdbConfigMapName(server),
                ["files"] = new[] { $"{Manifests.InitdbConfigMapName(server)}/10-create-databases.sql" },
                ["options"] = new YamlMap { ["labels"] = Manifests.Labels(server.Name, "database") },
            });
        }

        // Found by label, not by reference: no name suffix, or every change would leave an older copy behind for
        // Prometheus and Grafana's sidecar to load as well.
        configMaps.Add(new YamlMap
        {
            ["name"] = "smarthub-prometheus-rules",
            ["files"] = monitoring.Where(m => m.EndsWith(".yml", StringComparison.Ordinal)).Select(m => $"monitoring/{m}").ToList(),
            ["options"] = new YamlMap
            {
                ["disableNameSuffixHash"] = true,
                ["labels"] = new YamlMap
                {
                    ["app.kubernetes.io/name"] = "smarthub-prometheus-rules",
                    ["app.kubernetes.io/part-of"] = Manifests.PartOf,
                    ["prometheus"] = "smarthub",
                    ["role"] = "alert-rules",
                },
            },
        });
        configMaps.Add(new YamlMap
        {
            ["name"] = "smarthub-grafana-dashboards",
            ["files"] = monitoring.Where(m => m.EndsWith(".json", StringComparison.Ordinal)).Select(m => $"monitoring/{m}").ToList(),
            ["options"] = new YamlMap
            {
                ["disableNameSuffixHash"] = true,
                ["labels"] = new YamlMap
                {
                    ["app.kubernetes.io/name"] = "smarthub-grafana-dashboards",
                    ["app.kubernetes.io/part-of"] = Manifests.PartOf,
                    ["grafana_dashboard"] = "1",
                },
                ["annotations"] = new YamlMap { ["grafana_folder"] = "SmartHub" },
            },
        });

        return new YamlMap
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["namespace"] = options.Namespace,
            ["resources"] = resources,
            ["configMapGenerator"] = configMaps,
            ["secretGenerator"] = secrets.Select(s => new YamlMap
            {
                ["name"] = s.Name,
                ["type"] = "Opaque",
                ["envs"] = new[] { s.File },
                ["options"] = new YamlMap { ["labels"] = new YamlMap { ["app.kubernetes.io/part-of"] = Manifests.PartOf } },
            }).ToList(),
        };
    }

    /// <summary>kustomize strips one pair of matching quotes around a literal's value: keep a quoted value quoted.</summary>
    private static string KustomizeLiteral(string value) =>
        value.Length >= 2 && value[0] == value[^1] && value[0] is '"' or '\'' ? $"\"{value}\"" : value;
}

/// <summary>The output folder: files written under it, and the list of them.</summary>
internal sealed class OutputTree(string root)
{
    private readonly List<string> _written = [];

    public IReadOnlyList<string> Written => _written;

    public string PathOf(string relative) => Path.Combine(root, relative);

    public async Task WriteAsync(string relative, string content, CancellationToken cancellationToken)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, content, cancellationToken);
        _written.Add(path);
    }

    /// <summary>Readable by the owner only, from the first byte on.</summary>
    public async Task WriteSecretAsync(string relative, string content, CancellationToken cancellationToken)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(content.AsMemory(), cancellationToken);
        }

        File.SetUnixFileMode(path, mode);
        _written.Add(path);
    }

    public async Task AppendSecretAsync(string relative, string content, CancellationToken cancellationToken)
    {
        var path = PathOf(relative);
        await File.AppendAllTextAsync(path, content, cancellationToken);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _written.Add(path);
    }
}
