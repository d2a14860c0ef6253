namespace SmartHub.Hosting;

/// <summary>The <c>AddXxx</c> methods of the AppHost, named as in Aspire.Hosting.</summary>
public static class ResourceExtensions
{
    /// <summary>A parameter: configuration <c>Parameters:name</c> (env <c>Parameters__name</c>), else generated once and kept in the state folder.</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(this IDistributedApplicationBuilder builder, string name, bool secret = false, string? defaultValue = null, bool showWhenGenerated = false) =>
        builder.AddResource(new ParameterResource(name, secret) { DefaultValue = defaultValue, ShowWhenGenerated = showWhenGenerated });

    /// <summary>A PostgreSQL server run from the system binaries; its password is the parameter <c>{name}-password</c>.</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name, IResourceBuilder<ParameterResource>? password = null)
    {
        ResourceNames.EnsureUnique(builder, name);
        password ??= builder.AddParameter($"{name}-password", secret: true);
        return builder.AddResource(new PostgresServerResource(name, password.Resource));
    }

    /// <summary>A database on the server, created when missing.</summary>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(this IResourceBuilder<PostgresServerResource> server, string name, string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.Databases.Add(database);
        return server.ApplicationBuilder.AddResource(database);
    }

    /// <summary>A Redis server run from the system binary; its password is the parameter <c>{name}-password</c>.</summary>
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name, IResourceBuilder<ParameterResource>? password = null)
    {
        ResourceNames.EnsureUnique(builder, name);
        password ??= builder.AddParameter($"{name}-password", secret: true);
        return builder.AddResource(new RedisResource(name, password.Resource));
    }

    /// <summary>A .NET project of the solution, started from its build output. The path is relative to the AppHost project.</summary>
    public static IResourceBuilder<ProjectResource> AddProject(this IDistributedApplicationBuilder builder, string name, string projectPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projectPath);
        var fullPath = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, projectPath));
        return builder.AddResource(new ProjectResource(name, fullPath));
    }
}
