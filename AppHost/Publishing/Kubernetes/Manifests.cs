using System.Globalization;

namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>The Kubernetes objects of the base, as plain maps: Deployments, StatefulSets, Services, HPAs, PDBs, policies.</summary>
internal static class Manifests
{
    public const string PartOf = "smarthub";

    /// <summary>The uid and gid of the .NET container images' <c>app</c> user (what <c>dotnet publish -t:PublishContainer</c> images run as).</summary>
    public const int DotnetAppUser = 1654;

    /// <summary>The <c>postgres</c> and <c>redis</c> users of the official Debian-based images.</summary>
    public const int DatabaseUser = 999;

    public const string PostgresImage = ContainerImages.Postgres;
    public const string RedisImage = ContainerImages.Redis;

    public const string IngressControllerNamespace = "ingress-nginx";
    public const string MonitoringNamespace = "monitoring";
    public const string DefaultHost = "smarthub.example.com";
    public const string DefaultTlsSecret = "smarthub-tls";

    /// <summary>Autoscaling of every project: what production keeps and development lowers.</summary>
    public const int MinReplicas = 2;
    public const int MaxReplicas = 10;
    public const int CpuUtilization = 70;

    /// <summary>Private, link-local and shared address ranges: not "the internet" for the providers' egress.</summary>
    public static readonly string[] PrivateIPv4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"];
    public static readonly string[] PrivateIPv6 = ["fc00::/7", "fe80::/10", "::1/128"];

    public static YamlMap Labels(string name, string component) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/component"] = component,
        ["app.kubernetes.io/part-of"] = PartOf,
    };

    public static YamlMap Selector(string name) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/part-of"] = PartOf,
    };

    private static YamlMap Metadata(string name, string component, YamlMap? annotations = null)
    {
        var metadata = new YamlMap { ["name"] = name, ["labels"] = Labels(name, component) };
        if (annotations is not null)
        {
            metadata["annotations"] = annotations;
        }

        return metadata;
    }

    public static string ComponentOf(ProjectResource project) => project.IsExternal ? "gateway" : "service";

    public static YamlMap Namespace(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Namespace",
        ["metadata"] = new YamlMap
        {
            ["name"] = name,
            ["labels"] = new YamlMap
            {
                ["app.kubernetes.io/part-of"] = PartOf,
                // Every pod here meets the "restricted" Pod Security Standard; the namespace refuses any that does not.
                ["pod-security.kubernetes.io/enforce"] = "restricted",
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
                ["pod-security.kubernetes.io/warn"] = "restricted",
            },
        },
    };

    private static YamlMap PodSecurity(int user) => new()
    {
        ["runAsNonRoot"] = true,
        ["runAsUser"] = user,
        ["runAsGroup"] = user,
        ["fsGroup"] = user,
        ["fsGroupChangePolicy"] = "OnRootMismatch",
        ["seccompProfile"] = new YamlMap { ["type"] = "RuntimeDefault" },
    };

    private static YamlMap ContainerSecurity(int user) => new()
    {
        ["runAsNonRoot"] = true,
        ["runAsUser"] = user,
        ["runAsGroup"] = user,
        ["allowPrivilegeEscalation"] = false,
        ["readOnlyRootFilesystem"] = true,
        ["capabilities"] = new YamlMap { ["drop"] = new[] { "ALL" } },
        ["seccompProfile"] = new YamlMap { ["type"] = "RuntimeDefault" },
    };

    public static YamlMap Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => new()
    {
        ["requests"] = new YamlMap { ["cpu"] = cpuRequest, ["memory"] = memoryRequest },
        ["limits"] = new YamlMap { ["cpu"] = cpuLimit, ["memory"] = memoryLimit },
    };

    private static YamlMap HttpProbe(string path, int period, int timeout, int failureThreshold) => new()
    {
        ["httpGet"] = new YamlMap { ["path"] = path, ["port"] = "http" },
        ["periodSeconds"] = period,
        ["timeoutSeconds"] = timeout,
        ["failureThreshold"] = failureThreshold,
    };

    private static YamlMap ExecProbe(string[] command, int period, int timeout, int failureThreshold) => new()
    {
        ["exec"] = new YamlMap { ["command"] = command },
        ["periodSeconds"] = period,
        ["timeoutSeconds"] = timeout,
        ["failureThreshold"] = failureThreshold,
    };

    private static YamlMap SecretEnv(string name, string key) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new YamlMap
        {
            ["secretKeyRef"] = new YamlMap { ["name"] = KubernetesGraph.SharedSecretName, ["key"] = key },
        },
    };

    private static YamlMap FieldEnv(string name, string fieldPath) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new YamlMap { ["fieldRef"] = new YamlMap { ["fieldPath"] = fieldPath } },
    };

    private static YamlMap EmptyDir(string name, string sizeLimit, bool memory = false)
    {
        var emptyDir = new YamlMap { ["sizeLimit"] = sizeLimit };
        if (memory)
        {
            emptyDir["medium"] = "Memory";
        }

        return new YamlMap { ["name"] = name, ["emptyDir"] = emptyDir };
    }

    private static YamlMap Mount(string name, string path, bool readOnly = false)
    {
        var mount = new YamlMap { ["name"] = name, ["mountPath"] = path };
        if (readOnly)
        {
            mount["readOnly"] = true;
        }

        return mount;
    }

    public static string ConfigMapName(string project) => $"{project}-config";

    public static string OwnSecretName(string project) => $"{project}-secrets";

    /// <summary>
    /// A project's Deployment: its image, port 8080 named http, settings from its ConfigMap, secrets by key from the
    /// shared Secret and all of its own Secret, the three probes, resources, a non-root read-only container. No
    /// replica count: its HorizontalPodAutoscaler owns it.
    /// </summary>
    public static YamlMap Deployment(ProjectResource project, string image, ProjectEnvironment environment)
    {
        var name = project.Name;
        var component = ComponentOf(project);
        var env = new List<object>
        {
            FieldEnv("POD_NAME", "metadata.name"),
            FieldEnv("POD_NAMESPACE", "metadata.namespace"),
            // Each replica is an instance of the service (as the AppHost's replicas are), named after its pod.
            new YamlMap
            {
                ["name"] = "OTEL_RESOURCE_ATTRIBUTES",
                ["value"] = "service.instance.id=$(POD_NAME),k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)",
            },
        };
        env.AddRange(environment.SharedSecrets.Select(s => SecretEnv(s.Key, s.Value)));

        var container = new YamlMap
        {
            ["name"] = name,
            ["image"] = image,
            ["ports"] = new[] { new YamlMap { ["name"] = "http", ["containerPort"] = KubernetesGraph.HttpPort, ["protocol"] = "TCP" } },
            ["envFrom"] = new[]
            {
                new YamlMap { ["configMapRef"] = new YamlMap { ["name"] = ConfigMapName(name) } },
                new YamlMap { ["secretRef"] = new YamlMap { ["name"] = OwnSecretName(name) } },
            },
            ["env"] = env,
            // Migrations run at start-up (under an advisory lock, so replicas may start together): the startup probe
            // gives a process 5 minutes to answer /alive before liveness takes over; /health (PostgreSQL, Redis,
            // migrations, downstream services) decides whether it gets traffic.
            ["startupProbe"] = HttpProbe("/alive", period: 5, timeout: 3, failureThreshold: 60),
            ["readinessProbe"] = HttpProbe("/health", period: 10, timeout: 5, failureThreshold: 3),
            ["livenessProbe"] = HttpProbe("/alive", period: 15, timeout: 5, failureThreshold: 3),
            ["resources"] = Resources("250m", "256Mi", "1", "768Mi"),
            ["securityContext"] = ContainerSecurity(DotnetAppUser),
            ["volumeMounts"] = new[] { Mount("tmp", "/tmp") },
        };

        if (project.Args.Count > 0)
        {
            container["args"] = project.Args.ToList();
        }

        return new YamlMap
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Metadata(name, component),
            ["spec"] = new YamlMap
            {
                ["revisionHistoryLimit"] = 5,
                ["selector"] = new YamlMap { ["matchLabels"] = Selector(name) },
                ["strategy"] = new YamlMap
                {
                    ["type"] = "RollingUpdate",
                    ["rollingUpdate"] = new YamlMap { ["maxSurge"] = "25%", ["maxUnavailable"] = 0 },
                },
                ["template"] = new YamlMap
                {
                    ["metadata"] = new YamlMap { ["labels"] = Labels(name, component) },
                    ["spec"] = new YamlMap
                    {
                        // No Kubernetes API calls: no service-account token in the pod, no service-link variables.
                        ["automountServiceAccountToken"] = false,
                        ["enableServiceLinks"] = false,
                        ["terminationGracePeriodSeconds"] = 30,
                        ["securityContext"] = PodSecurity(DotnetAppUser),
                        ["topologySpreadConstraints"] = new[]
                        {
                            new YamlMap
                            {
                                ["maxSkew"] = 1,
                                ["topologyKey"] = "kubernetes.io/hostname",
                                ["whenUnsatisfiable"] = "ScheduleAnyway",
                                ["labelSelector"] = new YamlMap { ["matchLabels"] = Selector(name) },
                            },
                        },
                        ["containers"] = new[] { container },
                        ["volumes"] = new[] { EmptyDir("tmp", "256Mi") },
                    },
                },
            },
        };
    }

    public static YamlMap Service(string name, string component, string portName, int port, bool headless = false)
    {
        var spec = new YamlMap();
        if (headless)
        {
            spec["clusterIP"] = "None";
        }
        else
        {
            spec["type"] = "ClusterIP";
        }

        spec["selector"] = Selector(name);
        spec["ports"] = new[] { new YamlMap { ["name"] = portName, ["port"] = port, ["targetPort"] = portName, ["protocol"] = "TCP" } };
        return new YamlMap
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Metadata(name, component),
            ["spec"] = spec,
        };
    }

    public static YamlMap HorizontalPodAutoscaler(ProjectResource project) => new()
    {
        ["apiVersion"] = "autoscaling/v2",
        ["kind"] = "HorizontalPodAutoscaler",
        ["metadata"] = Metadata(project.Name, ComponentOf(project)),
        ["spec"] = new YamlMap
        {
            ["scaleTargetRef"] = new YamlMap { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = project.Name },
            // At least the graph's replica count (WithReplicas), never fewer than two: one pod is no redundancy.
            ["minReplicas"] = Math.Max(MinReplicas, project.Replicas),
            ["maxReplicas"] = Math.Max(MaxReplicas, project.Replicas),
            ["metrics"] = new[]
            {
                new YamlMap
                {
                    ["type"] = "Resource",
                    ["resource"] = new YamlMap
                    {
                        ["name"] = "cpu",
                        ["target"] = new YamlMap { ["type"] = "Utilization", ["averageUtilization"] = CpuUtilization },
                    },
                },
            },
        },
    };

    public static YamlMap PodDisruptionBudget(string name, string component) => new()
    {
        ["apiVersion"] = "policy/v1",
        ["kind"] = "PodDisruptionBudget",
        ["metadata"] = Metadata(name, component),
        ["spec"] = new YamlMap
        {
            ["minAvailable"] = 1,
            ["selector"] = new YamlMap { ["matchLabels"] = Selector(name) },
        },
    };

    public static string InitdbConfigMapName(PostgresServerResource server) => $"{server.Name}-initdb";

    /// <summary>The SQL the image runs once, on an empty data folder: the graph's databases.</summary>
    public static string InitdbSql(PostgresServerResource server) =>
        "-- Run by the postgres image once, when it initializes an empty data folder: the databases of the AppHost's graph.\n"
        + "-- The services create their tables themselves (versioned migrations at start-up, under an advisory lock).\n"
        + string.Concat(server.Databases.Select(db => $"CREATE DATABASE \"{db.DatabaseName.Replace("\"", "\"\"", StringComparison.Ordinal)}\";\n"));

    private static YamlMap StatefulSet(string name, string component, YamlMap podSpec, string storage) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "StatefulSet",
        ["metadata"] = Metadata(name, component),
        ["spec"] = new YamlMap
        {
            ["serviceName"] = name,
            ["replicas"] = 1,
            ["selector"] = new YamlMap { ["matchLabels"] = Selector(name) },
            ["template"] = new YamlMap
            {
                ["metadata"] = new YamlMap { ["labels"] = Labels(name, component) },
                ["spec"] = podSpec,
            },
            ["volumeClaimTemplates"] = new[]
            {
                new YamlMap
                {
                    ["metadata"] = new YamlMap { ["name"] = "data", ["labels"] = Labels(name, component) },
                    ["spec"] = new YamlMap
                    {
                        ["accessModes"] = new[] { "ReadWriteOnce" },
                        ["resources"] = new YamlMap { ["requests"] = new YamlMap { ["storage"] = storage } },
                    },
                },
            },
        },
    };

    /// <summary>
    /// PostgreSQL: the official image as uid 999 on a read-only root (its socket folder, /tmp and /dev/shm are
    /// emptyDirs), PGDATA a folder inside the volume (initdb wants to own it), the graph's databases created by an
    /// init script, ready when <c>pg_isready</c> answers over TCP (not while the image's init server runs on the
    /// socket), stopped with a fast shutdown (the image's SIGINT stop signal is not what Kubernetes sends).
    /// </summary>
    public static YamlMap PostgresStatefulSet(PostgresServerResource server)
    {
        string[] ready = ["pg_isready", "--username", PostgresServerResource.UserName, "--host", "127.0.0.1", "--port", Port(KubernetesGraph.PostgresPort)];
        var container = new YamlMap
        {
            ["name"] = "postgres",
            ["image"] = PostgresImage,
            ["ports"] = new[] { new YamlMap { ["name"] = "postgres", ["containerPort"] = KubernetesGraph.PostgresPort, ["protocol"] = "TCP" } },
            ["env"] = new object[]
            {
                new YamlMap { ["name"] = "POSTGRES_USER", ["value"] = PostgresServerResource.UserName },
                SecretEnv("POSTGRES_PASSWORD", server.Password.Name),
                new YamlMap { ["name"] = "PGDATA", ["value"] = "/var/lib/postgresql/data/pgdata" },
            },
            ["startupProbe"] = ExecProbe(ready, period: 5, timeout: 5, failureThreshold: 120),
            ["readinessProbe"] = ExecProbe(ready, period: 10, timeout: 5, failureThreshold: 3),
            ["livenessProbe"] = ExecProbe(ready, period: 20, timeout: 5, failureThreshold: 6),
            ["lifecycle"] = new YamlMap
            {
                ["preStop"] = new YamlMap
                {
                    ["exec"] = new YamlMap { ["command"] = new[] { "sh", "-c", "pg_ctl stop -D \"$PGDATA\" -m fast -w -t 50" } },
                },
            },
            ["resources"] = Resources("250m", "512Mi", "2", "2Gi"),
            ["securityContext"] = ContainerSecurity(DatabaseUser),
            ["volumeMounts"] = new[]
            {
                Mount("data", "/var/lib/postgresql/data"),
                Mount("run", "/var/run/postgresql"),
                Mount("tmp", "/tmp"),
                Mount("shm", "/dev/shm"),
                Mount("initdb", "/docker-entrypoint-initdb.d", readOnly: true),
            },
        };

        var podSpec = new YamlMap
        {
            ["automountServiceAccountToken"] = false,
            ["enableServiceLinks"] = false,
            ["terminationGracePeriodSeconds"] = 60,
            ["securityContext"] = PodSecurity(DatabaseUser),
            ["containers"] = new[] { container },
            ["volumes"] = new[]
            {
                EmptyDir("run", "16Mi"),
                EmptyDir("tmp", "256Mi"),
                EmptyDir("shm", "256Mi", memory: true),
                new YamlMap { ["name"] = "initdb", ["configMap"] = new YamlMap { ["name"] = InitdbConfigMapName(server) } },
            },
        };

        return StatefulSet(server.Name, "database", podSpec, "10Gi");
    }

    /// <summary>
    /// Redis with append-only persistence on its volume and the password from the Secret: written by the shell into a
    /// config file on a memory-backed emptyDir (never into the process's arguments), then <c>exec</c> so Redis is PID 1
    /// and gets SIGTERM. maxmemory follows the container's memory limit (60%, room for the AOF rewrite's fork); full
    /// means refused writes, not evicted keys (revocations and rate-limit buckets live here). Probes use REDISCLI_AUTH.
    /// </summary>
    public static YamlMap RedisStatefulSet(RedisResource redis)
    {
        const string start =
            "umask 077\n"
            + "printf 'requirepass \"%s\"\\n' \"$REDIS_PASSWORD\" > /run/redis/redis.conf\n"
            + "exec redis-server /run/redis/redis.conf --port \"$REDIS_PORT\" --dir /data --appendonly yes --appendfsync everysec"
            + " --maxmemory \"$((REDIS_MEMORY_LIMIT_MB * 6 / 10))mb\" --maxmemory-policy noeviction\n";
        string[] ping = ["sh", "-c", "redis-cli -h 127.0.0.1 -p \"$REDIS_PORT\" ping | grep -q PONG"];
        var container = new YamlMap
        {
            ["name"] = "redis",
            ["image"] = RedisImage,
            ["command"] = new[] { "sh", "-c", start },
            ["ports"] = new[] { new YamlMap { ["name"] = "redis", ["containerPort"] = KubernetesGraph.RedisPort, ["protocol"] = "TCP" } },
            ["env"] = new object[]
            {
                new YamlMap { ["name"] = "REDIS_PORT", ["value"] = Port(KubernetesGraph.RedisPort) },
                SecretEnv("REDIS_PASSWORD", redis.Password.Name),
                SecretEnv("REDISCLI_AUTH", redis.Password.Name),
                new YamlMap
                {
                    ["name"] = "REDIS_MEMORY_LIMIT_MB",
                    ["valueFrom"] = new YamlMap
                    {
                        ["resourceFieldRef"] = new YamlMap { ["containerName"] = "redis", ["resource"] = "limits.memory", ["divisor"] = "1Mi" },
                    },
                },
            },
            // Loading a large append-only file answers LOADING, not PONG: the startup probe waits up to 10 minutes.
            ["startupProbe"] = ExecProbe(ping, period: 5, timeout: 5, failureThreshold: 120),
            ["readinessProbe"] = ExecProbe(ping, period: 10, timeout: 5, failureThreshold: 3),
            ["livenessProbe"] = ExecProbe(ping, period: 20, timeout: 5, failureThreshold: 6),
            ["resources"] = Resources("100m", "256Mi", "1", "512Mi"),
            ["securityContext"] = ContainerSecurity(DatabaseUser),
            ["volumeMounts"] = new[] { Mount("data", "/data"), Mount("config", "/run/redis"), Mount("tmp", "/tmp") },
        };

        var podSpec = new YamlMap
        {
            ["automountServiceAccountToken"] = false,
            ["enableServiceLinks"] = false,
            ["terminationGracePeriodSeconds"] = 30,
            ["securityContext"] = PodSecurity(DatabaseUser),
            ["containers"] = new[] { container },
            ["volumes"] = new[] { EmptyDir("config", "1Mi", memory: true), EmptyDir("tmp", "64Mi") },
        };

        return StatefulSet(redis.Name, "cache", podSpec, "5Gi");
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static YamlMap NetworkPolicy(string name, YamlMap podSelector, string[] policyTypes, List<object>? ingress, List<object>? egress)
    {
        var spec = new YamlMap { ["podSelector"] = podSelector, ["policyTypes"] = policyTypes };
        if (ingress is not null)
        {
            spec["ingress"] = ingress;
        }

        if (egress is not null)
        {
            spec["egress"] = egress;
        }

        return new YamlMap
        {
            ["apiVersion"] = "networking.k8s.io/v1",
            ["kind"] = "NetworkPolicy",
            ["metadata"] = new YamlMap { ["name"] = name, ["labels"] = new YamlMap { ["app.kubernetes.io/part-of"] = PartOf } },
            ["spec"] = spec,
        };
    }

    private static YamlMap Pods(string name) => new() { ["podSelector"] = new YamlMap { ["matchLabels"] = Selector(name) } };

    private static YamlMap NamespaceNamed(string name) => new()
    {
        ["namespaceSelector"] = new YamlMap { ["matchLabels"] = new YamlMap { ["kubernetes.io/metadata.name"] = name } },
    };

    private static YamlMap[] TcpPort(int port) => [new YamlMap { ["protocol"] = "TCP", ["port"] = port }];

    private static YamlMap Rule(string direction, IEnumerable<YamlMap> peers, YamlMap[] ports) =>
        new() { [direction] = peers.ToArray(), ["ports"] = ports };

    /// <summary>
    /// Nothing moves unless allowed: a default deny (both directions), DNS to kube-system, and per workload exactly the
    /// connections the graph's references make (a reference is an egress rule at the client and an ingress rule at the
    /// server), the Ingress controller to external projects, Prometheus from the monitoring namespace to every
    /// project's /metrics, and the model providers (HTTPS to public addresses) from <paramref name="internetEgress"/>.
    /// </summary>
    public static IEnumerable<YamlMap> NetworkPolicies(KubernetesGraph graph, ISet<string> internetEgress)
    {
        yield return NetworkPolicy("default-deny", new YamlMap(), ["Ingress", "Egress"], null, null);
        yield return NetworkPolicy("allow-dns", new YamlMap(), ["Egress"], null,
        [
            new YamlMap
            {
                ["to"] = new[] { NamespaceNamed("kube-system") },
                ["ports"] = new[] { new YamlMap { ["protocol"] = "UDP", ["port"] = 53 }, new YamlMap { ["protocol"] = "TCP", ["port"] = 53 } },
            },
        ]);

        foreach (var project in graph.Projects)
        {
            var ingress = new List<object>();
            var clients = graph.Clients(project).Select(c => Pods(c.Name)).ToList();
            if (clients.Count > 0)
            {
                ingress.Add(Rule("from", clients, TcpPort(KubernetesGraph.HttpPort)));
            }

            if (project.IsExternal)
            {
                ingress.Add(Rule("from", [NamespaceNamed(IngressControllerNamespace)], TcpPort(KubernetesGraph.HttpPort)));
            }

            ingress.Add(Rule("from", [NamespaceNamed(MonitoringNamespace)], TcpPort(KubernetesGraph.HttpPort)));

            var egress = new List<object>();
            foreach (var (name, port) in KubernetesGraph.Dependencies(project))
            {
                egress.Add(Rule("to", [Pods(name)], TcpPort(port)));
            }

            if (internetEgress.Contains(project.Name))
            {
                egress.Add(Rule("to",
                [
                    new YamlMap { ["ipBlock"] = new YamlMap { ["cidr"] = "0.0.0.0/0", ["except"] = PrivateIPv4 } },
                    new YamlMap { ["ipBlock"] = new YamlMap { ["cidr"] = "::/0", ["except"] = PrivateIPv6 } },
                ], TcpPort(443)));
            }

            yield return NetworkPolicy(project.Name, new YamlMap { ["matchLabels"] = Selector(project.Name) }, ["Ingress", "Egress"], ingress, egress);
        }

        foreach (var (server, port) in graph.PostgresServers.Select(s => ((Resource)s, KubernetesGraph.PostgresPort))
                     .Concat(graph.RedisServers.Select(r => ((Resource)r, KubernetesGraph.RedisPort))))
        {
            var clients = graph.Clients(server).Select(c => Pods(c.Name)).ToList();
            var ingress = new List<object>();
            if (clients.Count > 0)
            {
                ingress.Add(Rule("from", clients, TcpPort(port)));
            }

            yield return NetworkPolicy(server.Name, new YamlMap { ["matchLabels"] = Selector(server.Name) }, ["Ingress", "Egress"], ingress, []);
        }
    }

    /// <summary>
    /// The external project behind ingress-nginx. Server-sent events (streamed chat completions, MCP) need the proxy's
    /// buffering off and long read/send timeouts; the body limit is above the gateway's own (1 MiB by default) so the
    /// gateway answers oversize bodies with its ProblemDetails 413.
    /// </summary>
    public static YamlMap Ingress(ProjectResource project, string host) => new()
    {
        ["apiVersion"] = "networking.k8s.io/v1",
        ["kind"] = "Ingress",
        ["metadata"] = Metadata(project.Name, ComponentOf(project), new YamlMap
        {
            ["nginx.ingress.kubernetes.io/proxy-buffering"] = "off",
            ["nginx.ingress.kubernetes.io/proxy-request-buffering"] = "off",
            ["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "3600",
            ["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "3600",
            ["nginx.ingress.kubernetes.io/proxy-body-size"] = "8m",
        }),
        ["spec"] = new YamlMap
        {
            ["ingressClassName"] = "nginx",
            ["rules"] = new[]
            {
                new YamlMap
                {
                    ["host"] = host,
                    ["http"] = new YamlMap
                    {
                        ["paths"] = new[]
                        {
                            new YamlMap
                            {
                                ["path"] = "/",
                                ["pathType"] = "Prefix",
                                ["backend"] = new YamlMap
                                {
                                    ["service"] = new YamlMap { ["name"] = project.Name, ["port"] = new YamlMap { ["name"] = "http" } },
                                },
                            },
                        },
                    },
                },
            },
        },
    };
}
