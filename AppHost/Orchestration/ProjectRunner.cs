using System.Net.Sockets;

namespace SmartHub.Hosting.Orchestration;

/// <summary>
/// A .NET project started from its build output with the environment Aspire injects: ASPNETCORE_URLS,
/// ConnectionStrings__*, services__*__http__0, OTEL_*. Healthy when its /health answers 200.
/// </summary>
internal sealed class ProjectRunner(ProjectResource project, RunContext context, HttpClient http) : ProcessRunner(project, context)
{
    protected override string? Endpoint => project.HttpUrl;

    private string? OutputAssembly =>
        AppHostMetadata.ProjectOutputs.TryGetValue(project.ProjectPath, out var dll) ? dll : null;

    public override void Validate(List<string> problems)
    {
        if (!File.Exists(project.ProjectPath))
        {
            problems.Add($"Project '{project.Name}': {project.ProjectPath} does not exist.");
        }
        else if (OutputAssembly is not { } dll)
        {
            problems.Add($"Project '{project.Name}' ({project.ProjectPath}) is not referenced by AppHost.csproj: add a ProjectReference to it with ReferenceOutputAssembly=\"false\".");
        }
        else if (!File.Exists(dll))
        {
            problems.Add($"Project '{project.Name}' has no build output at {dll}. Build it first: dotnet build SmartHub.sln (./smarthub.sh run builds everything).");
        }

        if (project.RequestedPort is { } port && !PortAllocator.IsFree(port))
        {
            problems.Add($"Port {port} for '{project.Name}' is already in use on 127.0.0.1. Stop what uses it{(project.Name == "gateway" ? ", or choose another port with SMARTHUB_GATEWAY_PORT" : string.Empty)}.");
        }
    }

    protected override ProcessSpec CreateSpec()
    {
        var dll = OutputAssembly!;
        var native = Path.ChangeExtension(dll, null);
        var (file, args) = File.Exists(native) ? (native, new List<string>()) : (DotnetHost, new List<string> { dll });
        args.AddRange(project.Args);
        return new ProcessSpec(file, args, Path.GetDirectoryName(project.ProjectPath)!, BuildEnvironment());
    }

    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The environment Aspire gives a project resource.</summary>
    internal Dictionary<string, string> BuildEnvironment()
    {
        var options = Context.Options;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = project.HttpUrl!,
            ["ASPNETCORE_ENVIRONMENT"] = options.EnvironmentName,
            ["DOTNET_ENVIRONMENT"] = options.EnvironmentName,
            // The logical service: replicas share it (gateway-2 is an instance of gateway), as in a cluster.
            ["OTEL_SERVICE_NAME"] = project.ReplicaOf?.Name ?? project.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={project.Name}-{Guid.NewGuid():N}",
            ["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false",
            ["Logging__Console__FormatterName"] = "json",
        };

        // Every service of the graph shares this machine's cores, so each runs the workstation GC: server GC gives
        // every process a heap and a GC thread per core, which on a shared machine costs memory and, under load, CPU
        // the services need (measured: the gateway served ~20% more requests/s on 2 cores). A deployment with a CPU
        // budget per service (the Kubernetes manifests) keeps the runtime's default. DOTNET_gcServer set for the
        // AppHost, or WithEnvironment on a resource, overrides this.
        if (Environment.GetEnvironmentVariable("DOTNET_gcServer") is null)
        {
            env["DOTNET_gcServer"] = "0";
        }
        if (Context.Otlp is { } otlp)
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = otlp.Protocol;
            if (otlp.Headers is { } headers)
            {
                env["OTEL_EXPORTER_OTLP_HEADERS"] = headers;
            }

            env["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        }

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString withConnectionString:
                    env[$"ConnectionStrings__{reference.Name}"] = withConnectionString.GetConnectionString()
                        ?? throw new InvalidOperationException($"{reference} has no connection string yet.");
                    break;
                case ProjectResource service:
                    env[$"services__{service.Name}__http__0"] = service.HttpUrl
                        ?? throw new InvalidOperationException($"{reference} has no endpoint yet.");
                    break;
            }
        }

        foreach (var (key, value) in project.Environment)
        {
            env[key] = value.Evaluate();
        }

        return env;
    }

    protected override async Task<(bool Healthy, string? Description)> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var response = await http.GetAsync(new Uri($"{project.HttpUrl}/health"), timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return (true, null);
            }

            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return (false, $"/health answered {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}");
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException)
        {
            return (false, "not listening yet");
        }
        catch (HttpRequestException ex)
        {
            return (false, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, "/health did not answer within 3 s");
        }
    }
}
