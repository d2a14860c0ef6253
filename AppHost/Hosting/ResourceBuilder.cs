using Microsoft.Extensions.Configuration;
namespace SmartHub.Hosting;

/// <summary>Fluent configuration of one resource, shaped like Aspire's <c>IResourceBuilder&lt;T&gt;</c>.</summary>
public interface IResourceBuilder<out T> where T : Resource
{
    T Resource { get; }
    IDistributedApplicationBuilder ApplicationBuilder { get; }
}

internal sealed class ResourceBuilder<T>(T resource, IDistributedApplicationBuilder builder) : IResourceBuilder<T> where T : Resource
{
    public T Resource { get; } = resource;
    public IDistributedApplicationBuilder ApplicationBuilder { get; } = builder;
}

public static class ResourceBuilderExtensions
{
    /// <summary>Injects the connection string (<c>ConnectionStrings__name</c>) or service address (<c>services__name__http__0</c>) of <paramref name="source"/>.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> source) where T : Resource
    {
        if (source.Resource is not (IResourceWithConnectionString or ProjectResource))
        {
            throw new ArgumentException($"{source.Resource} cannot be referenced: it has neither a connection string nor an HTTP endpoint.", nameof(source));
        }

        if (!builder.Resource.References.Contains(source.Resource))
        {
            builder.Resource.References.Add(source.Resource);
        }

        return builder;
    }

    /// <summary>Starts this resource only once <paramref name="dependency"/> is healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> dependency) where T : Resource
    {
        if (!builder.Resource.WaitsFor.Contains(dependency.Resource))
        {
            builder.Resource.WaitsFor.Add(dependency.Resource);
        }

        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value) where T : Resource
    {
        builder.Resource.Environment[name] = EnvironmentValue.Literal(value);
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, IResourceBuilder<ParameterResource> parameter) where T : Resource
    {
        builder.Resource.Environment[name] = EnvironmentValue.Of(parameter.Resource);
        return builder;
    }

    /// <summary>
    /// Forwards configuration section <paramref name="section"/> of the AppHost (its environment, command line or
    /// appsettings) to the resource as environment variables (<c>Providers:openai:ApiKey</c> → <c>Providers__openai__ApiKey</c>),
    /// as they are when the graph is built.
    /// </summary>
    public static IResourceBuilder<T> WithConfigurationSection<T>(this IResourceBuilder<T> builder, string section) where T : Resource
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(section);
        foreach (var (key, value) in builder.ApplicationBuilder.Configuration.GetSection(section).AsEnumerable())
        {
            if (value is not null)
            {
                builder.Resource.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = EnvironmentValue.Literal(value);
            }
        }

        return builder;
    }

    /// <summary>Marks the project as reachable from outside the graph (the gateway). Ports stay on loopback locally.</summary>
    public static IResourceBuilder<ProjectResource> WithExternalHttpEndpoints(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.IsExternal = true;
        return builder;
    }

    /// <summary>Serves the project on a fixed port (0 or null: a free port).</summary>
    public static IResourceBuilder<ProjectResource> WithHttpEndpoint(this IResourceBuilder<ProjectResource> builder, int? port)
    {
        if (port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A port is between 0 and 65535.");
        }

        builder.Resource.RequestedPort = port == 0 ? null : port;
        return builder;
    }

    /// <summary>Runs <paramref name="replicas"/> processes of the project, each on its own port, sharing every reference.</summary>
    public static IResourceBuilder<ProjectResource> WithReplicas(this IResourceBuilder<ProjectResource> builder, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicas, 16);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    public static IResourceBuilder<ProjectResource> WithArgs(this IResourceBuilder<ProjectResource> builder, params string[] args)
    {
        builder.Resource.Args.AddRange(args);
        return builder;
    }
}
