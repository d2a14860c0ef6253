namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>
/// <c>overlays/development</c> (one replica each, no disruption budget that blocks a drain, small requests and
/// volumes, plain HTTP) and <c>overlays/production</c> (2–10 replicas at 70% CPU, bigger requests and volumes, the
/// Ingress with TLS): JSON patches (RFC 6902) on the base, each in a file an operator edits.
/// </summary>
internal static class Overlays
{
    private sealed record Sizes(YamlMap Services, YamlMap Postgres, string PostgresStorage, YamlMap Redis, string RedisStorage);

    private static readonly Sizes s_development = new(
        Manifests.Resources("50m", "128Mi", "500m", "384Mi"),
        Manifests.Resources("100m", "256Mi", "1", "1Gi"), "2Gi",
        Manifests.Resources("50m", "64Mi", "500m", "256Mi"), "1Gi");

    private static readonly Sizes s_production = new(
        Manifests.Resources("500m", "512Mi", "2", "1536Mi"),
        Manifests.Resources("1", "2Gi", "4", "4Gi"), "50Gi",
        Manifests.Resources("250m", "512Mi", "1", "1Gi"), "10Gi");

    private static YamlMap Op(string op, string path, object? value = null)
    {
        var patch = new YamlMap { ["op"] = op, ["path"] = path };
        if (op != "remove")
        {
            patch["value"] = value;
        }

        return patch;
    }

    private static YamlMap Target(string? group, string version, string kind, string? name = null)
    {
        var target = new YamlMap();
        if (group is not null)
        {
            target["group"] = group;
        }

        target["version"] = version;
        target["kind"] = kind;
        if (name is not null)
        {
            target["name"] = name;
        }

        return target;
    }

    private static YamlMap Patch(string file, YamlMap target) => new() { ["path"] = $"patches/{file}", ["target"] = target };

    private static YamlMap Kustomization(List<object> patches) => new()
    {
        ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
        ["kind"] = "Kustomization",
        ["resources"] = new[] { "../../base" },
        ["patches"] = patches,
    };

    public static async Task WriteAsync(OutputTree tree, KubernetesGraph graph, CancellationToken cancellationToken)
    {
        await WriteOverlayAsync(tree, graph, "development", s_development, minReplicas: 1, maxReplicas: 3, cancellationToken);
        await WriteOverlayAsync(tree, graph, "production", s_production, Manifests.MinReplicas, Manifests.MaxReplicas, cancellationToken);
    }

    private static async Task WriteOverlayAsync(OutputTree tree, KubernetesGraph graph, string overlay, Sizes sizes, int minReplicas, int maxReplicas, CancellationToken cancellationToken)
    {
        var dir = $"overlays/{overlay}";
        var header = $"{KubernetesPublisher.Header}\n";
        var patches = new List<object>();

        async Task AddAsync(string file, string comment, YamlMap target, params YamlMap[] ops)
        {
            await tree.WriteAsync($"{dir}/patches/{file}", Yaml.Documents(header + comment, (object)ops), cancellationToken);
            patches.Add(Patch(file, target));
        }

        await AddAsync("autoscaling.yaml", $"Every project's HorizontalPodAutoscaler: {minReplicas}-{maxReplicas} replicas at {Manifests.CpuUtilization}% of the CPU request.",
            Target("autoscaling", "v2", "HorizontalPodAutoscaler"),
            Op("replace", "/spec/minReplicas", minReplicas),
            Op("replace", "/spec/maxReplicas", maxReplicas),
            Op("replace", "/spec/metrics/0/resource/target/averageUtilization", Manifests.CpuUtilization));

        if (minReplicas < 2)
        {
            // With one replica, "at least one available" would forbid every eviction: a node could never be drained.
            await AddAsync("disruption-budgets.yaml", "One replica: a disruption budget that lets a node drain (one pod may be down).",
                Target("policy", "v1", "PodDisruptionBudget"),
                Op("remove", "/spec/minAvailable"),
                Op("add", "/spec/maxUnavailable", 1));
        }

        await AddAsync("service-resources.yaml", "CPU and memory of every project's container (the HPA scales on the CPU request).",
            Target("apps", "v1", "Deployment"),
            Op("replace", "/spec/template/spec/containers/0/resources", sizes.Services));

        foreach (var server in graph.PostgresServers)
        {
            await AddAsync($"{server.Name}.yaml", $"PostgreSQL '{server.Name}': CPU, memory and the size of its volume (only for a new volume claim).",
                Target("apps", "v1", "StatefulSet", server.Name),
                Op("replace", "/spec/template/spec/containers/0/resources", sizes.Postgres),
                Op("replace", "/spec/volumeClaimTemplates/0/spec/resources/requests/storage", sizes.PostgresStorage));
        }

        foreach (var redis in graph.RedisServers)
        {
            await AddAsync($"{redis.Name}.yaml", $"Redis '{redis.Name}': CPU, memory (maxmemory is 60% of the limit) and the size of its volume.",
                Target("apps", "v1", "StatefulSet", redis.Name),
                Op("replace", "/spec/template/spec/containers/0/resources", sizes.Redis),
                Op("replace", "/spec/volumeClaimTemplates/0/spec/resources/requests/storage", sizes.RedisStorage));
        }

        var external = graph.Projects.FirstOrDefault(p => p.IsExternal);
        if (external is not null && overlay == "production")
        {
            await AddAsync("ingress.yaml",
                $"The public host and its TLS certificate (a kubernetes.io/tls Secret '{Manifests.DefaultTlsSecret}' in the namespace, e.g. from\n"
                + "cert-manager). Change the host in both places.",
                Target("networking.k8s.io", "v1", "Ingress", external.Name),
                Op("replace", "/spec/rules/0/host", Manifests.DefaultHost),
                Op("add", "/spec/tls", new[]
                {
                    new YamlMap { ["hosts"] = new[] { Manifests.DefaultHost }, ["secretName"] = Manifests.DefaultTlsSecret },
                }),
                Op("add", "/metadata/annotations/nginx.ingress.kubernetes.io~1force-ssl-redirect", "true"));
        }

        await tree.WriteAsync($"{dir}/kustomization.yaml", Yaml.Documents(
            header + (overlay == "production"
                ? "Production: kubectl apply -k overlays/production"
                : "Development: kubectl apply -k overlays/development (plain HTTP Ingress on the base's host)"),
            Kustomization(patches)), cancellationToken);
    }
}
