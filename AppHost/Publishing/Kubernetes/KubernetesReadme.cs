using System.Text;

namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>The README.md and .gitignore of the published tree.</summary>
internal static class KubernetesReadme
{
    public const string GitIgnore =
        "# Generated secrets (passwords, connection strings, provider keys): never commit them.\n"
        + "base/secrets/\n"
        + "*.env\n";

    public static string Text(KubernetesGraph graph, PublishOptions options)
    {
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');

        Line("# SmartHub on Kubernetes");
        Line();
        Line("Written by `dotnet run --project AppHost -- --publisher kubernetes --output-path DIR` from the AppHost's graph:");
        Line($"namespace `{options.Namespace}`, images `{options.ImageRegistry ?? "(no registry)"}` tag `{options.ImageTag}`.");
        Line("Publishing again rewrites every file but the secrets (`base/secrets/`), which are kept. Change a deployment in an overlay.");
        Line();
        Line("```");
        Line("base/                      every object; kubectl kustomize base renders it");
        Line("  kustomization.yaml       namespace, ConfigMaps (settings, initdb, alert rules, dashboards), Secrets (from secrets/*.env)");
        Line("  namespace.yaml           Pod Security Standard \"restricted\" enforced");
        foreach (var project in graph.Projects)
        {
            Line($"  {project.Name + ".yaml",-24} Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget");
        }

        foreach (var server in graph.PostgresServers)
        {
            Line($"  {server.Name + ".yaml",-24} StatefulSet (PostgreSQL, volume claim), headless Service; {server.Name}-initdb/ creates the databases");
        }

        foreach (var redis in graph.RedisServers)
        {
            Line($"  {redis.Name + ".yaml",-24} StatefulSet (Redis, append-only file on a volume claim), headless Service");
        }

        Line("  network-policies.yaml    default deny, DNS, the graph's connections, ingress controller, Prometheus, provider egress");
        Line("  ingress.yaml             the gateway behind ingress-nginx (SSE-friendly: no buffering, long timeouts)");
        Line("  monitoring/              copies of deploy/prometheus/smarthub-alerts.yml and deploy/grafana/*.json");
        Line("  secrets/                 generated secrets: git-ignored, mode 0600");
        Line("overlays/development/      1-3 replicas, small requests and volumes, plain HTTP");
        Line("overlays/production/       2-10 replicas at 70% CPU, bigger requests and volumes, TLS on the Ingress");
        Line("images.txt                 the images to build and push");
        Line("```");
        Line();
        Line("## 1. Build and push the images");
        Line();
        Line("Each project becomes an image with the .NET SDK's container support (no Dockerfile; the images run as the");
        Line("non-root `app` user, uid 1654, which the manifests require):");
        Line();
        Line("```sh");
        foreach (var project in graph.Projects)
        {
            var repository = KubernetesPublisher.RepositoryName(project);
            var command = $"dotnet publish {RelativeProject(project)} -c Release -t:PublishContainer";
            if (options.ImageRegistry is { } registry)
            {
                // registry.example.com/smarthub: the registry's host, and the rest as the repository's path.
                var slash = registry.IndexOf('/', StringComparison.Ordinal);
                var host = slash < 0 ? registry : registry[..slash];
                var path = slash < 0 ? string.Empty : registry[(slash + 1)..] + "/";
                command += $" -p:ContainerRegistry={host} -p:ContainerRepository={path}{repository}";
            }
            else
            {
                command += $" -p:ContainerRepository={repository}";
            }

            Line($"{command} -p:ContainerImageTag={options.ImageTag}");
        }

        Line("```");
        Line();
        Line("With `ContainerRegistry` the SDK pushes the image itself (log in with `docker login` first); without it, the image goes");
        Line("to the local Docker daemon: tag and push it. `images.txt` lists the names the Deployments use.");
        Line();
        Line("## 2. Secrets");
        Line();
        Line("`base/secrets/shared.env` holds the AppHost's secret parameters (`postgres-password`, `cache-password`, `admin-password`,");
        Line("`auth-encryption-key`, `internal-token`), generated at the first publish into this folder, and the connection strings");
        Line("built from them; the Deployments read them by key (`secretKeyRef`), each only the keys its project uses. Each");
        Line("`base/secrets/<project>.env` is that project's own Secret, given to it whole (`envFrom`): model providers' API keys go");
        Line("into `mcp.env` (`Providers__openai__ApiKey=...`; their `Type`, `BaseUrl` and `Models__0` are plain settings: add them");
        Line("to mcp's ConfigMap in an overlay with a `configMapGenerator` entry `name: mcp-config`, `behavior: merge`). A key the");
        Line("AppHost was configured with is never copied: its setting is written as `REPLACE_ME` for you to fill in.");
        Line();
        Line("- The files are git-ignored (`.gitignore` here) and written with mode 0600. Keep them out of version control.");
        Line("- The first admin signs in as `admin-email` (a ConfigMap setting) with `admin-password` from `shared.env`.");
        Line("- PostgreSQL keeps the password its volume was initialized with: to change it later, `ALTER ROLE postgres PASSWORD ...`");
        Line("  first, then change `postgres-password` and both connection strings. Generated values use letters and digits only;");
        Line("  a password of your own must not contain `;` (connection strings) or `\"` (Redis' configuration).");
        Line();
        Line("**An external secret store instead** (External Secrets Operator, Sealed Secrets, a CSI secrets-store driver, Vault):");
        Line("have it create Secrets named `smarthub-secrets` and `<project>-secrets` in the namespace, with the keys of the files");
        Line("above, and drop the generated ones in an overlay of your own; the Deployments then read the store's Secrets by those");
        Line("plain names (kustomize only renames references to Secrets it generates). The env files must still exist for");
        Line("kustomize to build the base, but nothing of them is deployed:");
        Line();
        Line("```yaml");
        Line("# overlays/external-secrets/kustomization.yaml");
        Line("apiVersion: kustomize.config.k8s.io/v1beta1");
        Line("kind: Kustomization");
        Line("resources: [../production]");
        Line("patches:");
        foreach (var secret in new[] { KubernetesGraph.SharedSecretName }.Concat(graph.Projects.Select(p => Manifests.OwnSecretName(p.Name))))
        {
            Line("- patch: |-");
            Line("    $patch: delete");
            Line("    apiVersion: v1");
            Line("    kind: Secret");
            Line($"    metadata: {{name: {secret}}}");
        }

        Line("```");
        Line();
        Line("Pods do not restart by themselves when such a Secret changes: `kubectl rollout restart deployment -n " + options.Namespace + "`.");
        Line();
        Line("## 3. Deploy");
        Line();
        Line("```sh");
        Line("kubectl kustomize overlays/production          # look first");
        Line("kubectl apply -k overlays/production");
        Line($"kubectl -n {options.Namespace} rollout status deployment");
        Line("```");
        Line();
        Line("Requirements of the cluster: a default StorageClass (the volume claims), ingress-nginx in namespace");
        Line($"`{Manifests.IngressControllerNamespace}` (IngressClass `nginx`; another namespace: change the gateway's NetworkPolicy), metrics-server");
        Line("(the autoscalers), a CNI that enforces NetworkPolicies, and for production a TLS Secret `smarthub-tls` (cert-manager,");
        Line("or `kubectl create secret tls`). The host is `smarthub.example.com`: change it in `overlays/production/patches/ingress.yaml`.");
        Line();
        Line("Start-up order needs nothing from Kubernetes: a service whose PostgreSQL or Redis is not there yet is simply not");
        Line("ready (`/health`) until it is. Schema migrations run at start-up under a PostgreSQL advisory lock");
        Line("(`ServiceDefaults/Postgres/Migrations/PostgresMigrator.cs`), so several replicas starting at once (a rollout, the");
        Line("autoscaler) are safe: one migrates, the others wait and find the work done. The startup probe gives a pod 5 minutes.");
        Line("The databases themselves are created by `postgres-initdb/10-create-databases.sql` when PostgreSQL initializes an empty");
        Line("volume; a database added to the graph later must be created by hand (`CREATE DATABASE`) on an existing volume.");
        Line();
        Line("## What is where");
        Line();
        Line("- **Probes.** Readiness `/health` (PostgreSQL, Redis, migrations; at the gateway also auth, core and mcp), liveness");
        Line("  `/alive`, startup `/alive` with 60 tries 5 s apart. PostgreSQL: `pg_isready` over TCP; Redis: `redis-cli ping` with");
        Line("  the password in `REDISCLI_AUTH`, never in arguments.");
        Line("- **Security.** Every pod: non-root (uid 1654 for the services, 999 for PostgreSQL and Redis), read-only root file");
        Line("  system (emptyDirs for /tmp and the databases' socket folders), no privilege escalation, all capabilities dropped,");
        Line("  the runtime's seccomp profile, no service-account token, no service-link variables.");
        Line("- **Scaling.** Every project has a HorizontalPodAutoscaler (2-10 at 70% CPU in production) and a PodDisruptionBudget");
        Line("  (at least one pod through a drain); auth too, because hashing passwords (PBKDF2, 600,000 iterations) makes logins");
        Line("  CPU-bound and every API-key check behind the gateway asks it. Every project is stateless; rate limits, credits and");
        Line("  revocations live in Redis and PostgreSQL, so they hold across replicas. PostgreSQL and Redis are single pods: in");
        Line("  production prefer managed services (put their connection strings into `shared.env` and drop the StatefulSets).");
        Line("- **Network.** Default deny; DNS to kube-system; exactly the graph's connections (gateway to auth, core, mcp; core");
        Line("  and mcp to auth; mcp to core; auth and core to PostgreSQL; everyone to Redis); ingress-nginx to the gateway;");
        Line($"  Prometheus from namespace `{Manifests.MonitoringNamespace}` to port 8080 (`/metrics`); mcp to TCP 443 on public addresses");
        Line("  (model providers; private, link-local and metadata ranges excluded: a provider inside the cluster needs a rule).");
        Line("- **Client addresses.** The gateway trusts `X-Forwarded-For` from private ranges (only ingress-nginx can reach it), so");
        Line("  rate limits and audit logs see the real client. Narrow `Gateway__TrustedProxies__Networks__*` if your CNI does not");
        Line("  enforce NetworkPolicies.");
        Line("- **Monitoring.** ConfigMap `smarthub-prometheus-rules` (labels `prometheus: smarthub`, `role: alert-rules`) holds");
        Line("  `smarthub-alerts.yml`; with the Prometheus operator, wrap its `groups` in a `PrometheusRule`. ConfigMap");
        Line("  `smarthub-grafana-dashboards` (label `grafana_dashboard: \"1\"`) is found by Grafana's dashboard sidecar when it");
        Line($"  watches namespace `{options.Namespace}`. The gateway's `/metrics` needs an API key with `system:read`; the others answer");
        Line("  Prometheus anonymously (see `deploy/prometheus/prometheus.yml`).");
        Line("- **Telemetry.** No OTLP endpoint is set: add `OTEL_EXPORTER_OTLP_ENDPOINT` to the projects' ConfigMaps and an egress rule");
        Line("  to your collector.");
        return text.ToString();
    }

    private static string RelativeProject(ProjectResource project) =>
        $"{Path.GetFileName(Path.GetDirectoryName(project.ProjectPath))}/{Path.GetFileName(project.ProjectPath)}";
}
