using System.Reflection;
using Microsoft.Extensions.Configuration;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.Hosting;

/// <summary>Declares the application graph, shaped like Aspire's <c>IDistributedApplicationBuilder</c>.</summary>
public interface IDistributedApplicationBuilder
{
    ConfigurationManager Configuration { get; }

    /// <summary>The AppHost project's folder; project paths are relative to it.</summary>
    string AppHostDirectory { get; }

    IReadOnlyList<Resource> Resources { get; }

    IResourceBuilder<T> AddResource<T>(T resource) where T : Resource;

    DistributedApplication Build();
}

public sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    /// <summary>Replicas 2..n of a project become resources named <c>name-2</c>… with the same references and settings.</summary>
    private void ExpandReplicas()
    {
        foreach (var project in _resources.OfType<ProjectResource>().Where(p => p.Replicas > 1 && p.ReplicaOf is null).ToList())
        {
            for (var i = 2; i <= project.Replicas; i++)
            {
                var replica = new ProjectResource($"{project.Name}-{i}", project.ProjectPath) { IsExternal = project.IsExternal, ReplicaOf = project };
                replica.WaitsFor.AddRange(project.WaitsFor);
                replica.References.AddRange(project.References);
                replica.Args.AddRange(project.Args);
                foreach (var (key, value) in project.Environment)
                {
                    replica.Environment[key] = value;
                }

                AddResource(replica);
            }
        }
    }

    private readonly List<Resource> _resources = [];
    private bool _built;
    private bool _underTest;

    /// <summary>Set by the testing builder for the entry point it runs (flows with the async context, so parallel tests do not mix).</summary>
    internal static readonly AsyncLocal<TestingHooks?> Hooks = new();

    public DistributedApplicationBuilder(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Configuration = new ConfigurationManager();
        Configuration.AddEnvironmentVariables();
        Configuration.AddCommandLine(args);
        var hooks = Hooks.Value;
        if (hooks is not null)
        {
            Configuration.AddInMemoryCollection(hooks.Configuration);
        }

        AppHostDirectory = AppHostMetadata.ProjectDirectory;
    }

    public ConfigurationManager Configuration { get; }
    public string AppHostDirectory { get; }
    public IReadOnlyList<Resource> Resources => _resources;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(resource);
        ResourceNames.EnsureUnique(this, resource.Name);
        _resources.Add(resource);
        return new ResourceBuilder<T>(resource, this);
    }

    public DistributedApplication Build()
    {
        var hooks = Hooks.Value;
        if (hooks is not null && !hooks.Released)
        {
            // Under the testing builder the entry point stops here: the test owns the builder from now on.
            _underTest = true;
            hooks.Capture(this);
            throw new EntryPointCapturedException();
        }

        if (_built)
        {
            throw new InvalidOperationException("Build() was already called.");
        }

        _built = true;
        HostOptions options;
        try
        {
            options = HostOptions.From(Configuration, AppHostDirectory);
        }
        catch (DistributedApplicationException ex) when (!_underTest)
        {
            // A setting the operator got wrong: the message says which and how to fix it; no stack trace.
            HostConsole.Error(ex.Message);
            Environment.Exit(1);
            throw;
        }

        if (options.Publish is null)
        {
            // Locally, replicas are processes of their own; a publisher writes the replica count instead.
            ExpandReplicas();
        }

        return new DistributedApplication(this, options);
    }
}

/// <summary>Thrown inside the AppHost's entry point under the testing builder, to stop it once the graph is declared.</summary>
internal sealed class EntryPointCapturedException() : Exception("The AppHost entry point was captured by the testing builder.");

internal sealed class TestingHooks(IReadOnlyDictionary<string, string?> configuration)
{
    private readonly TaskCompletionSource<DistributedApplicationBuilder> _captured = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyDictionary<string, string?> Configuration { get; } = configuration;
    public bool Released { get; set; }
    public Task<DistributedApplicationBuilder> Captured => _captured.Task;
    public void Capture(DistributedApplicationBuilder builder) => _captured.TrySetResult(builder);
    public void Fail(Exception exception) => _captured.TrySetException(exception);
}

internal static class AppHostMetadata
{
    private static string Get(string key) =>
        typeof(AppHostMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"AppHost assembly metadata '{key}' is missing.");

    public static string ProjectDirectory => Get("apphostprojectpath");

    /// <summary>Build output (.dll) of each referenced project, keyed by the full path of its .csproj; written at build time.</summary>
    public static IReadOnlyDictionary<string, string> ProjectOutputs { get; } =
        typeof(AppHostMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Where(a => a.Key.StartsWith("project:", StringComparison.Ordinal) && a.Value is not null)
            .ToDictionary(a => Path.GetFullPath(a.Key["project:".Length..]), a => a.Value!, StringComparer.Ordinal);
}
