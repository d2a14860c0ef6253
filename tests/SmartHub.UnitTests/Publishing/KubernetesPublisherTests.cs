using System.Text;
using System.Text.Json.Nodes;

namespace SmartHub.UnitTests.Publishing;

/// <summary>
/// <c>--publisher kubernetes</c> on the real graph: the tree renders with <c>kubectl kustomize</c> (base and both
/// overlays), every object passes the Kubernetes schemas (kubernetes-models), and the objects carry what a production
/// cluster needs: probes, resources, restricted security contexts, autoscaling, disruption budgets, network policies,
/// the Ingress, and secrets only in Secrets.
/// </summary>
public sealed class KubernetesPublisherTests(PublishedKubernetesTree tree) : IClassFixture<PublishedKubernetesTree>
{
    private static readonly string[] s_projects = ["auth", "core", "mcp", "gateway"];
    private static readonly string[] s_renders = ["base", "development", "production"];

    private static JsonObject Container(JsonObject workload) => (JsonObject)workload["spec"]!["template"]!["spec"]!["containers"]![0]!;

    private static JsonObject PodSpec(JsonObject workload) => (JsonObject)workload["spec"]!["template"]!["spec"]!;

    [Fact]
    public void The_tree_has_a_base_two_overlays_a_readme_an_image_list_and_ignores_its_secrets()
    {
        string[] expected =
        [
            ".gitignore", "README.md", "images.txt",
            "base/kustomization.yaml", "base/namespace.yaml", "base/auth.yaml", "base/core.yaml", "base/mcp.yaml", "base/gateway.yaml",
            "base/postgres.yaml", "base/cache.yaml", "base/network-policies.yaml", "base/ingress.yaml",
            "base/postgres-initdb/10-create-databases.sql", "base/monitoring/smarthub-alerts.yml", "base/monitoring/smarthub-response-times.json",
            "base/secrets/shared.env", "base/secrets/auth.env", "base/secrets/core.env", "base/secrets/mcp.env", "base/secrets/gateway.env",
            "overlays/development/kustomization.yaml", "overlays/production/kustomization.yaml", "overlays/production/patches/ingress.yaml",
        ];
        var written = tree.Files.Select(f => Path.GetRelativePath(tree.Directory, f)).ToHashSet();

        Assert.All(expected, file => Assert.Contains(file, written));
        Assert.Contains("base/secrets/", File.ReadAllText(Path.Combine(tree.Directory, ".gitignore")), StringComparison.Ordinal);
        foreach (var secret in System.IO.Directory.GetFiles(Path.Combine(tree.Directory, "base", "secrets")))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secret));
        }

        var readme = File.ReadAllText(Path.Combine(tree.Directory, "README.md"));
        Assert.All(["-t:PublishContainer", "kubectl apply -k overlays/production", "advisory lock", "external secret store", "REPLACE_ME"],
            text => Assert.Contains(text, readme, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(
            s_projects.Select(p => $"{PublishedKubernetesTree.Registry}/smarthub-{p}:{PublishedKubernetesTree.Tag}").Order(),
            File.ReadAllLines(Path.Combine(tree.Directory, "images.txt")).Order());
    }

    [Fact]
    public async Task Every_rendered_object_passes_the_kubernetes_schemas()
    {
        var files = new List<string>();
        foreach (var (name, text) in tree.RenderedText)
        {
            var file = Path.Combine(tree.Directory, $"rendered-{name}.yaml");
            await File.WriteAllTextAsync(file, text);
            files.Add(file);
        }

        var (exitCode, output) = await PublishedKubernetesTree.ValidateAsync([.. files]);

        Assert.True(exitCode == 0, output);
        Assert.Contains($"{tree.Base.All.Count + tree.Development.All.Count + tree.Production.All.Count} objects checked, 0 invalid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_schema_check_catches_a_wrong_type_and_an_unknown_field()
    {
        // The validator itself: a misspelt probe would otherwise pass, as kubernetes-models' schemas allow unknown fields.
        var text = tree.RenderedText["base"];
        var misspelt = Path.Combine(tree.Directory, "misspelt.yaml");
        await File.WriteAllTextAsync(misspelt, text.Replace("readinessProbe:", "readinesProbe:", StringComparison.Ordinal));
        var mistyped = Path.Combine(tree.Directory, "mistyped.yaml");
        await File.WriteAllTextAsync(mistyped, text.Replace("runAsNonRoot: true", "runAsNonRoot: \"yes\"", StringComparison.Ordinal));

        var (misspeltExit, misspeltOutput) = await PublishedKubernetesTree.ValidateAsync(misspelt);
        var (mistypedExit, mistypedOutput) = await PublishedKubernetesTree.ValidateAsync(mistyped);

        Assert.Equal(1, misspeltExit);
        Assert.Contains("error Deployment/gateway: fields the schema does not know: /spec/template/spec/containers/0/readinesProbe", misspeltOutput, StringComparison.Ordinal);
        Assert.Equal(1, mistypedExit);
        Assert.Contains("runAsNonRoot must be boolean", mistypedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_deployment_has_probes_resources_and_a_restricted_non_root_read_only_security_context()
    {
        foreach (var render in s_renders)
        {
            var deployments = tree.Rendered[render].OfKind("Deployment").ToList();
            Assert.Equal(s_projects.Order(), deployments.Select(RenderedObjects.NameOf).Order());
            foreach (var deployment in deployments)
            {
                var what = $"{render}: {RenderedObjects.NameOf(deployment)}";
                var pod = PodSpec(deployment);
                var container = Container(deployment);
                Assert.True(false == (bool?)pod["automountServiceAccountToken"], what);
                Assert.Equal("/health", (string?)container["readinessProbe"]?["httpGet"]?["path"]);
                Assert.Equal("/alive", (string?)container["livenessProbe"]?["httpGet"]?["path"]);
                Assert.Equal("/alive", (string?)container["startupProbe"]?["httpGet"]?["path"]);
                Assert.True((int)container["startupProbe"]!["failureThreshold"]! * (int)container["startupProbe"]!["periodSeconds"]! >= 300, $"{what}: startup allows 5 minutes of migrations");
                Assert.All(["requests", "limits"], part => Assert.All(["cpu", "memory"],
                    resource => Assert.False(string.IsNullOrEmpty((string?)container["resources"]?[part]?[resource]), $"{what}: {part}.{resource}")));

                Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"], what);
                Assert.Equal(1654, (int?)pod["securityContext"]?["runAsUser"]);
                Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]?["seccompProfile"]?["type"]);
                var security = container["securityContext"]!;
                Assert.True((bool?)security["runAsNonRoot"], what);
                Assert.Equal(1654, (int?)security["runAsUser"]);
                Assert.True((bool?)security["readOnlyRootFilesystem"], what);
                Assert.False((bool?)security["allowPrivilegeEscalation"] ?? true, what);
                Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!));
                Assert.Contains(container["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == "/tmp");
                Assert.Contains(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == "tmp" && v["emptyDir"] is not null);
                Assert.Contains(container["ports"]!.AsArray(), p => (int?)p!["containerPort"] == 8080 && (string?)p["name"] == "http");
            }
        }
    }

    [Fact]
    public void Images_are_the_registry_smarthub_name_and_tag_and_services_are_named_after_the_resources()
    {
        foreach (var project in s_projects)
        {
            var deployment = tree.Production.Get("Deployment", project);
            Assert.Equal($"{PublishedKubernetesTree.Registry}/smarthub-{project}:{PublishedKubernetesTree.Tag}", (string?)Container(deployment)["image"]);
            Assert.Equal(PublishedKubernetesTree.Namespace, (string?)deployment["metadata"]!["namespace"]);

            var service = tree.Production.Get("Service", project);
            Assert.Equal("ClusterIP", (string?)service["spec"]!["type"]);
            var port = service["spec"]!["ports"]![0]!;
            Assert.Equal(8080, (int?)port["port"]);
            Assert.Equal("http", (string?)port["targetPort"]);
        }

        Assert.Equal("None", (string?)tree.Production.Get("Service", "postgres")["spec"]!["clusterIP"]);
        Assert.Equal("None", (string?)tree.Production.Get("Service", "cache")["spec"]!["clusterIP"]);
        Assert.Equal(PublishedKubernetesTree.Namespace, RenderedObjects.NameOf(Assert.Single(tree.Production.OfKind("Namespace"))));
    }

    [Fact]
    public void Settings_come_from_a_configmap_and_secrets_from_secrets_as_aspire_names_them()
    {
        var gateway = tree.Production.Get("ConfigMap", "gateway-config")["data"]!;
        Assert.Equal("http://auth:8080", (string?)gateway["services__auth__http__0"]);
        Assert.Equal("http://core:8080", (string?)gateway["services__core__http__0"]);
        Assert.Equal("http://mcp:8080", (string?)gateway["services__mcp__http__0"]);
        Assert.Equal("gateway", (string?)gateway["OTEL_SERVICE_NAME"]);
        Assert.Equal("8080", (string?)gateway["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal("admin@smarthub.local", (string?)tree.Production.Get("ConfigMap", "auth-config")["data"]!["Bootstrap__AdminEmail"]);

        var auth = Container(tree.Production.Get("Deployment", "auth"));
        var sharedSecret = RenderedObjects.NameOf(tree.Production.Get("Secret", "smarthub-secrets"));
        var fromSecret = auth["env"]!.AsArray()
            .Where(e => e!["valueFrom"]?["secretKeyRef"] is not null)
            .ToDictionary(e => (string)e!["name"]!, e => ((string)e!["valueFrom"]!["secretKeyRef"]!["name"]!, (string)e["valueFrom"]!["secretKeyRef"]!["key"]!));
        Assert.Equal((sharedSecret, "ConnectionStrings__authdb"), fromSecret["ConnectionStrings__authdb"]);
        Assert.Equal((sharedSecret, "ConnectionStrings__cache"), fromSecret["ConnectionStrings__cache"]);
        Assert.Equal((sharedSecret, "internal-token"), fromSecret["Internal__Token"]);
        Assert.Equal((sharedSecret, "admin-password"), fromSecret["Bootstrap__AdminPassword"]);
        Assert.Equal((sharedSecret, "auth-encryption-key"), fromSecret["Auth__KeyEncryptionKey"]);
        Assert.DoesNotContain("ConnectionStrings__coredb", fromSecret.Keys);

        var envFrom = auth["envFrom"]!.AsArray();
        Assert.Equal(RenderedObjects.NameOf(tree.Production.Get("ConfigMap", "auth-config")), (string?)envFrom[0]!["configMapRef"]!["name"]);
        Assert.Equal(RenderedObjects.NameOf(tree.Production.Get("Secret", "auth-secrets")), (string?)envFrom[1]!["secretRef"]!["name"]);

        var shared = tree.Production.Get("Secret", "smarthub-secrets")["data"]!.AsObject()
            .ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(Convert.FromBase64String(((string)p.Value!).Replace("\n", "", StringComparison.Ordinal))));
        Assert.Matches(@"^Host=postgres;Port=5432;Username=postgres;Password=[A-Za-z0-9]{32,};Database=authdb$", shared["ConnectionStrings__authdb"]);
        Assert.Equal($"cache:6379,password={shared["cache-password"]}", shared["ConnectionStrings__cache"]);
        Assert.Contains($"Password={shared["postgres-password"]};Database=coredb", shared["ConnectionStrings__coredb"], StringComparison.Ordinal);
    }

    [Fact]
    public void No_secret_value_appears_anywhere_but_in_secrets()
    {
        var secrets = System.IO.Directory.GetFiles(Path.Combine(tree.Directory, "base", "secrets"), "*.env")
            .SelectMany(f => File.ReadAllLines(f))
            .Where(line => line.Length > 0 && line[0] != '#' && line.Contains('=', StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..])
            .Where(value => value != "REPLACE_ME")
            .Distinct()
            .ToList();
        Assert.True(secrets.Count >= 8, $"{secrets.Count} secret values");

        foreach (var render in s_renders)
        {
            foreach (var o in tree.Rendered[render].All.Where(o => (string?)o["kind"] != "Secret"))
            {
                var text = o.ToJsonString();
                Assert.All(secrets, secret => Assert.False(
                    text.Contains(secret, StringComparison.Ordinal) || text.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), StringComparison.Ordinal),
                    $"{render}: {o["kind"]} {RenderedObjects.NameOf(o)} holds a secret value"));
            }
        }

        // Nothing outside base/secrets/ holds one either (the files an operator might commit).
        foreach (var file in System.IO.Directory.GetFiles(tree.Directory, "*", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}secrets{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith("rendered-", StringComparison.Ordinal)))
        {
            var content = File.ReadAllText(file);
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, content, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Production_autoscales_every_project_from_2_to_10_at_70_percent_cpu_with_a_disruption_budget()
    {
        foreach (var project in s_projects)
        {
            var hpa = tree.Production.Get("HorizontalPodAutoscaler", project);
            Assert.Equal("autoscaling/v2", (string?)hpa["apiVersion"]);
            Assert.Equal(project, (string?)hpa["spec"]!["scaleTargetRef"]!["name"]);
            Assert.Equal("Deployment", (string?)hpa["spec"]!["scaleTargetRef"]!["kind"]);
            Assert.Equal(2, (int?)hpa["spec"]!["minReplicas"]);
            Assert.Equal(10, (int?)hpa["spec"]!["maxReplicas"]);
            var metric = hpa["spec"]!["metrics"]![0]!;
            Assert.Equal("cpu", (string?)metric["resource"]!["name"]);
            Assert.Equal(70, (int?)metric["resource"]!["target"]!["averageUtilization"]);

            // The autoscaler owns the count: a replicas field would fight it on every apply.
            Assert.Null(tree.Production.Get("Deployment", project)["spec"]!["replicas"]);

            var pdb = tree.Production.Get("PodDisruptionBudget", project);
            Assert.Equal("policy/v1", (string?)pdb["apiVersion"]);
            Assert.Equal(1, (int?)pdb["spec"]!["minAvailable"]);
            Assert.Equal(project, (string?)pdb["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/name"]);
        }
    }

    [Fact]
    public void Development_runs_one_replica_each_with_budgets_that_let_a_node_drain_and_smaller_resources()
    {
        foreach (var project in s_projects)
        {
            Assert.Equal(1, (int?)tree.Development.Get("HorizontalPodAutoscaler", project)["spec"]!["minReplicas"]);
            var pdb = tree.Development.Get("PodDisruptionBudget", project)["spec"]!;
            Assert.Null(pdb["minAvailable"]);
            Assert.Equal(1, (int?)pdb["maxUnavailable"]);
            Assert.Equal("50m", (string?)Container(tree.Development.Get("Deployment", project))["resources"]!["requests"]!["cpu"]);
            Assert.Equal("500m", (string?)Container(tree.Production.Get("Deployment", project))["resources"]!["requests"]!["cpu"]);
        }

        Assert.Null(tree.Development.Get("Ingress", "gateway")["spec"]!["tls"]);
    }

    [Fact]
    public void The_ingress_serves_the_gateway_with_tls_in_production_and_does_not_buffer_streams()
    {
        var ingress = tree.Production.Get("Ingress", "gateway");

        Assert.Equal("networking.k8s.io/v1", (string?)ingress["apiVersion"]);
        Assert.Equal("nginx", (string?)ingress["spec"]!["ingressClassName"]);
        var rule = ingress["spec"]!["rules"]![0]!;
        Assert.Equal("smarthub.example.com", (string?)rule["host"]);
        var backend = rule["http"]!["paths"]![0]!["backend"]!["service"]!;
        Assert.Equal("gateway", (string?)backend["name"]);
        Assert.Equal("http", (string?)backend["port"]!["name"]);
        var tls = ingress["spec"]!["tls"]![0]!;
        Assert.Equal("smarthub-tls", (string?)tls["secretName"]);
        Assert.Equal(["smarthub.example.com"], tls["hosts"]!.AsArray().Select(h => (string)h!));
        var annotations = ingress["metadata"]!["annotations"]!;
        Assert.Equal("off", (string?)annotations["nginx.ingress.kubernetes.io/proxy-buffering"]);
        Assert.True(int.Parse((string)annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]!, System.Globalization.CultureInfo.InvariantCulture) >= 600);
    }

    /// <summary>The peers a policy's rules allow, as "pod:NAME:PORT", "ns:NAME:PORT" or "cidr:CIDR:PORT".</summary>
    private static HashSet<string> Peers(JsonObject policy, string direction)
    {
        var peers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in policy["spec"]![direction]?.AsArray() ?? [])
        {
            var ports = rule!["ports"]!.AsArray().Select(p => (string)p!["protocol"]! + "/" + (int)p["port"]!).ToList();
            foreach (var peer in rule[direction == "ingress" ? "from" : "to"]!.AsArray())
            {
                var id = peer!["podSelector"] is { } pods ? $"pod:{pods["matchLabels"]!["app.kubernetes.io/name"]}"
                    : peer["namespaceSelector"] is { } ns ? $"ns:{ns["matchLabels"]!["kubernetes.io/metadata.name"]}"
                    : $"cidr:{peer["ipBlock"]!["cidr"]}";
                foreach (var port in ports)
                {
                    peers.Add($"{id}:{port}");
                }
            }
        }

        return peers;
    }

    [Fact]
    public void Network_policies_deny_by_default_and_allow_exactly_the_graphs_connections()
    {
        var policies = tree.Production.OfKind("NetworkPolicy").ToDictionary(RenderedObjects.NameOf);

        var deny = policies["default-deny"]["spec"]!;
        Assert.Empty(deny["podSelector"]!.AsObject());
        Assert.Equal(["Ingress", "Egress"], deny["policyTypes"]!.AsArray().Select(t => (string)t!));
        Assert.Null(deny["ingress"]);
        Assert.Null(deny["egress"]);
        Assert.Equal(["ns:kube-system:TCP/53", "ns:kube-system:UDP/53"], Peers(policies["allow-dns"], "egress").Order());

        Assert.Equal(["ns:ingress-nginx:TCP/8080", "ns:monitoring:TCP/8080"], Peers(policies["gateway"], "ingress").Order());
        Assert.Equal(["pod:auth:TCP/8080", "pod:cache:TCP/6379", "pod:core:TCP/8080", "pod:mcp:TCP/8080"], Peers(policies["gateway"], "egress").Order());
        Assert.Equal(["ns:monitoring:TCP/8080", "pod:core:TCP/8080", "pod:gateway:TCP/8080", "pod:mcp:TCP/8080"], Peers(policies["auth"], "ingress").Order());
        Assert.Equal(["pod:cache:TCP/6379", "pod:postgres:TCP/5432"], Peers(policies["auth"], "egress").Order());
        Assert.Equal(["ns:monitoring:TCP/8080", "pod:gateway:TCP/8080", "pod:mcp:TCP/8080"], Peers(policies["core"], "ingress").Order());
        Assert.Equal(["pod:auth:TCP/8080", "pod:cache:TCP/6379", "pod:postgres:TCP/5432"], Peers(policies["core"], "egress").Order());
        Assert.Equal(["ns:monitoring:TCP/8080", "pod:gateway:TCP/8080"], Peers(policies["mcp"], "ingress").Order());
        Assert.Equal(["cidr:0.0.0.0/0:TCP/443", "cidr:::/0:TCP/443", "pod:auth:TCP/8080", "pod:cache:TCP/6379", "pod:core:TCP/8080"],
            Peers(policies["mcp"], "egress").Order());
        Assert.Equal(["pod:auth:TCP/5432", "pod:core:TCP/5432"], Peers(policies["postgres"], "ingress").Order());
        Assert.Equal(["pod:auth:TCP/6379", "pod:core:TCP/6379", "pod:gateway:TCP/6379", "pod:mcp:TCP/6379"], Peers(policies["cache"], "ingress").Order());
        Assert.Empty(Peers(policies["postgres"], "egress"));

        // The providers' HTTPS egress excludes the cluster's private ranges and the metadata address.
        var except = policies["mcp"]["spec"]!["egress"]!.AsArray().SelectMany(r => r!["to"]!.AsArray())
            .Where(p => (string?)p!["ipBlock"]?["cidr"] == "0.0.0.0/0").Single()!["ipBlock"]!["except"]!.AsArray().Select(c => (string)c!).ToList();
        Assert.All(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"], range => Assert.Contains(range, except));
    }

    [Fact]
    public void Postgres_is_a_non_root_statefulset_with_a_volume_pg_isready_and_an_initdb_script_for_both_databases()
    {
        var postgres = tree.Production.Get("StatefulSet", "postgres");
        var pod = PodSpec(postgres);
        var container = Container(postgres);

        Assert.Matches(@"^docker\.io/library/postgres:1[57]\.\d+", (string?)container["image"]);
        Assert.Equal(999, (int?)pod["securityContext"]!["runAsUser"]);
        Assert.Equal(999, (int?)pod["securityContext"]!["fsGroup"]);
        Assert.True((bool?)pod["securityContext"]!["runAsNonRoot"]);
        Assert.True((bool?)container["securityContext"]!["readOnlyRootFilesystem"]);
        Assert.False((bool?)pod["automountServiceAccountToken"] ?? true);
        var mounts = container["volumeMounts"]!.AsArray().ToDictionary(m => (string)m!["mountPath"]!, m => (string)m!["name"]!);
        var emptyDirs = pod["volumes"]!.AsArray().Where(v => v!["emptyDir"] is not null).Select(v => (string)v!["name"]!).ToHashSet();
        Assert.Contains(mounts["/var/run/postgresql"], emptyDirs);
        Assert.Contains(mounts["/tmp"], emptyDirs);
        var env = container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e);
        Assert.StartsWith("/var/lib/postgresql/data/", (string?)env["PGDATA"]!["value"], StringComparison.Ordinal);
        Assert.Equal("data", mounts["/var/lib/postgresql/data"]);
        Assert.Equal("postgres-password", (string?)env["POSTGRES_PASSWORD"]!["valueFrom"]!["secretKeyRef"]!["key"]);
        Assert.Equal("pg_isready", (string?)container["readinessProbe"]!["exec"]!["command"]![0]);
        Assert.Equal("data", (string?)postgres["spec"]!["volumeClaimTemplates"]![0]!["metadata"]!["name"]);
        Assert.Equal("50Gi", (string?)postgres["spec"]!["volumeClaimTemplates"]![0]!["spec"]!["resources"]!["requests"]!["storage"]);
        Assert.Equal("postgres", (string?)postgres["spec"]!["serviceName"]);

        var initdb = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == mounts["/docker-entrypoint-initdb.d"])!["configMap"]!["name"];
        var script = tree.Production.OfKind("ConfigMap").Single(c => RenderedObjects.NameOf(c) == (string?)initdb)["data"]!["10-create-databases.sql"];
        Assert.Contains("CREATE DATABASE \"authdb\";", (string?)script, StringComparison.Ordinal);
        Assert.Contains("CREATE DATABASE \"coredb\";", (string?)script, StringComparison.Ordinal);
    }

    [Fact]
    public void Redis_persists_an_append_only_file_and_takes_its_password_from_the_secret_without_passing_it_as_an_argument()
    {
        var redis = tree.Production.Get("StatefulSet", "cache");
        var container = Container(redis);
        var command = string.Join(' ', container["command"]!.AsArray().Select(c => (string)c!));
        var env = container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!["valueFrom"]?["secretKeyRef"]?["key"]?.GetValue<string>());

        Assert.Contains("--appendonly yes", command, StringComparison.Ordinal);
        Assert.Contains("requirepass", command, StringComparison.Ordinal);
        Assert.DoesNotContain("--requirepass", command, StringComparison.Ordinal);
        Assert.Contains("exec redis-server /run/redis/redis.conf", command, StringComparison.Ordinal);
        Assert.Equal("cache-password", env["REDIS_PASSWORD"]);
        Assert.Equal("cache-password", env["REDISCLI_AUTH"]);
        var ping = string.Join(' ', container["readinessProbe"]!["exec"]!["command"]!.AsArray().Select(c => (string)c!));
        Assert.Contains("redis-cli", ping, StringComparison.Ordinal);
        Assert.DoesNotContain(" -a ", ping, StringComparison.Ordinal);
        Assert.Equal(999, (int?)PodSpec(redis)["securityContext"]!["runAsUser"]);
        Assert.True((bool?)container["securityContext"]!["readOnlyRootFilesystem"]);
        Assert.Equal("/data", (string?)container["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == "data")!["mountPath"]);
    }

    [Fact]
    public void Alert_rules_and_the_grafana_dashboard_are_configmaps_labelled_for_discovery()
    {
        var rules = tree.Production.Get("ConfigMap", "smarthub-prometheus-rules");
        var dashboards = tree.Production.Get("ConfigMap", "smarthub-grafana-dashboards");

        Assert.Equal(File.ReadAllText(Path.Combine(PublishedKubernetesTree.Root, "deploy", "prometheus", "smarthub-alerts.yml")), (string?)rules["data"]!["smarthub-alerts.yml"]);
        Assert.Equal("alert-rules", (string?)rules["metadata"]!["labels"]!["role"]);
        Assert.Equal(File.ReadAllText(Path.Combine(PublishedKubernetesTree.Root, "deploy", "grafana", "smarthub-response-times.json")), (string?)dashboards["data"]!["smarthub-response-times.json"]);
        Assert.Equal("1", (string?)dashboards["metadata"]!["labels"]!["grafana_dashboard"]);
    }

    [Fact]
    public async Task The_readmes_external_secret_store_overlay_deploys_no_secret_and_references_the_stores_names()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(tree.Directory, "README.md"));
        var start = readme.IndexOf("# overlays/external-secrets/kustomization.yaml\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "the README shows the overlay");
        var body = readme[(readme.IndexOf('\n', start) + 1)..readme.IndexOf("```", start, StringComparison.Ordinal)];
        var overlay = Path.Combine(tree.Directory, "overlays", "external-secrets");
        System.IO.Directory.CreateDirectory(overlay);
        await File.WriteAllTextAsync(Path.Combine(overlay, "kustomization.yaml"), body);

        var rendered = RenderedObjects.Parse(await PublishedKubernetesTree.KustomizeAsync(overlay));

        Assert.Empty(rendered.OfKind("Secret"));
        var auth = Container(rendered.Get("Deployment", "auth"));
        Assert.Equal("auth-secrets", (string?)auth["envFrom"]![1]!["secretRef"]!["name"]);
        Assert.All(auth["env"]!.AsArray().Where(e => e!["valueFrom"]?["secretKeyRef"] is not null),
            e => Assert.Equal("smarthub-secrets", (string?)e!["valueFrom"]!["secretKeyRef"]!["name"]));
    }

    [Fact]
    public async Task Publishing_again_keeps_the_secrets_and_an_operators_edits()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("smarthub-k8s-again-").FullName;
        try
        {
            await PublishedKubernetesTree.PublishAsync(dir);
            var shared = Path.Combine(dir, "base", "secrets", "shared.env");
            var mcp = Path.Combine(dir, "base", "secrets", "mcp.env");
            var first = await File.ReadAllTextAsync(shared);
            await File.AppendAllTextAsync(mcp, "Providers__openai__ApiKey=sk-operator\n");

            await PublishedKubernetesTree.PublishAsync(dir);

            Assert.Equal(first, await File.ReadAllTextAsync(shared));
            Assert.Contains("Providers__openai__ApiKey=sk-operator", await File.ReadAllTextAsync(mcp), StringComparison.Ordinal);
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_provider_key_given_to_the_apphost_becomes_a_placeholder_in_mcps_own_secret()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("smarthub-k8s-provider-").FullName;
        try
        {
            await PublishedKubernetesTree.PublishAsync(dir,
                "--Providers:openai:Type=openai", "--Providers:openai:BaseUrl=https://api.openai.com/v1", "--Providers:openai:ApiKey=sk-live-do-not-copy");

            var files = System.IO.Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
            Assert.All(files, file => Assert.DoesNotContain("sk-live-do-not-copy", File.ReadAllText(file), StringComparison.Ordinal));
            Assert.Contains("Providers__openai__ApiKey=REPLACE_ME", await File.ReadAllTextAsync(Path.Combine(dir, "base", "secrets", "mcp.env")), StringComparison.Ordinal);
            var kustomization = await File.ReadAllTextAsync(Path.Combine(dir, "base", "kustomization.yaml"));
            Assert.Contains("Providers__openai__Type=openai", kustomization, StringComparison.Ordinal);
            Assert.DoesNotContain("Providers__openai__ApiKey", kustomization, StringComparison.Ordinal);

            var rendered = RenderedObjects.Parse(await PublishedKubernetesTree.KustomizeAsync(Path.Combine(dir, "overlays", "production")));
            var secret = rendered.Get("Secret", "mcp-secrets")["data"]!;
            Assert.Equal("REPLACE_ME", Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["Providers__openai__ApiKey"]!)));
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_output_path_that_is_a_file_is_refused_with_a_message()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = await Assert.ThrowsAsync<SmartHub.Hosting.DistributedApplicationException>(() => PublishedKubernetesTree.PublishAsync(file));

            Assert.Contains("is a file", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Git_never_picks_up_the_generated_secrets()
    {
        // The tree's own .gitignore, in a repository of its own: an operator commits the folder as it is.
        var dir = System.IO.Directory.CreateTempSubdirectory("smarthub-k8s-git-").FullName;
        try
        {
            await PublishedKubernetesTree.PublishAsync(dir);
            Assert.Equal(0, (await ExternalProcess.RunAsync("git", dir, "init", "-q")).ExitCode);
            Assert.Equal(0, (await ExternalProcess.RunAsync("git", dir, "add", "-A")).ExitCode);
            var staged = (await ExternalProcess.RunAsync("git", dir, "ls-files")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

            Assert.Contains("base/kustomization.yaml", staged);
            Assert.DoesNotContain(staged, file => file.StartsWith("base/secrets/", StringComparison.Ordinal) || file.EndsWith(".env", StringComparison.Ordinal));
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }

        // This repository: no secrets file is tracked, and a tree published inside it is ignored.
        var tracked = (await ExternalProcess.RunAsync("git", PublishedKubernetesTree.Root, "ls-files")).Stdout.Split('\n');
        Assert.DoesNotContain(tracked, file => file.Contains("base/secrets/", StringComparison.Ordinal) || file.EndsWith("secrets.env", StringComparison.Ordinal));
        var ignored = await ExternalProcess.RunAsync("git", PublishedKubernetesTree.Root, "check-ignore", "-q", "--no-index", "k8s/base/secrets/shared.env");
        Assert.Equal(0, ignored.ExitCode);
    }
}
