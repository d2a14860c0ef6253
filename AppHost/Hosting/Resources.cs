namespace SmartHub.Hosting;

/// <summary>A named node of the application graph, as in Aspire's resource model.</summary>
public abstract class Resource(string name)
{
    public string Name { get; } = ResourceNames.Validate(name);

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<Resource> WaitsFor { get; } = [];

    /// <summary>Resources this one receives connection information for.</summary>
    public List<Resource> References { get; } = [];

    /// <summary>Extra environment variables: evaluated at start (run mode), or written as expressions (publish mode).</summary>
    public Dictionary<string, EnvironmentValue> Environment { get; } = new(StringComparer.Ordinal);

    public abstract string KindName { get; }

    public override string ToString() => $"{KindName} '{Name}'";
}

/// <summary>A resource that hands out a connection string (<c>ConnectionStrings__name</c>).</summary>
public interface IResourceWithConnectionString
{
    string Name { get; }

    /// <summary>The connection string once the resource has its endpoint; null before.</summary>
    string? GetConnectionString();
}

/// <summary>A resource started as an operating-system process.</summary>
public interface IProcessResource
{
    string Name { get; }
}

/// <summary>A secret or setting whose value comes from configuration or is generated once and persisted.</summary>
public sealed class ParameterResource(string name, bool secret, int generatedLength = 32) : Resource(name)
{
    public bool Secret { get; } = secret;
    public int GeneratedLength { get; } = generatedLength;
    public string? DefaultValue { get; init; }

    /// <summary>Set by the orchestrator when the graph is built.</summary>
    public string? Value { get; internal set; }

    /// <summary>True when the value was generated at this start (the first start on this state folder).</summary>
    public bool GeneratedNow { get; internal set; }

    /// <summary>Show the value once, when it is generated (the first admin's password: nobody else could know it).</summary>
    public bool ShowWhenGenerated { get; init; }

    public override string KindName => "Parameter";
}

public sealed class PostgresServerResource(string name, ParameterResource password) : Resource(name), IProcessResource, IResourceWithConnectionString
{
    public const string UserName = "postgres";

    public ParameterResource Password { get; } = password;
    public List<PostgresDatabaseResource> Databases { get; } = [];
    public int? Port { get; internal set; }
    public override string KindName => "PostgreSQL";

    public string? GetConnectionString() => Port is null || Password.Value is null
        ? null
        : $"Host=127.0.0.1;Port={Port};Username={UserName};Password={Password.Value}";
}

public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource server) : Resource(name), IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;
    public PostgresServerResource Parent { get; } = server;
    public override string KindName => "Database";

    public string? GetConnectionString() => Parent.GetConnectionString() is { } server ? $"{server};Database={DatabaseName}" : null;
}

public sealed class RedisResource(string name, ParameterResource password) : Resource(name), IProcessResource, IResourceWithConnectionString
{
    public ParameterResource Password { get; } = password;
    public int? Port { get; internal set; }
    public override string KindName => "Redis";

    /// <summary>StackExchange.Redis format, as Aspire injects it.</summary>
    public string? GetConnectionString() => Port is null || Password.Value is null
        ? null
        : $"127.0.0.1:{Port},password={Password.Value}";
}

public sealed class ProjectResource(string name, string projectPath) : Resource(name), IProcessResource
{
    /// <summary>Full path of the .csproj.</summary>
    public string ProjectPath { get; } = projectPath;

    /// <summary>A fixed port (null: a free port is chosen at each start).</summary>
    public int? RequestedPort { get; internal set; }
    public bool IsExternal { get; internal set; }
    public int? Port { get; internal set; }
    public string? HttpUrl => Port is null ? null : $"http://127.0.0.1:{Port}";
    public List<string> Args { get; } = [];

    /// <summary>How many processes run this project (each on its own port); replicas 2..n are named <c>name-2</c>…</summary>
    public int Replicas { get; internal set; } = 1;

    /// <summary>For a replica: the resource it copies.</summary>
    public ProjectResource? ReplicaOf { get; internal set; }

    public override string KindName => "Project";
}

internal static class ResourceNames
{
    /// <summary>Lowercase letters, digits and dashes, starting with a letter (DNS label rules, as Kubernetes needs them).</summary>
    public static string Validate(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > 63 || !char.IsAsciiLetterLower(name[0]) || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') || name.EndsWith('-'))
        {
            throw new ArgumentException($"Resource name '{name}' is invalid: use 1-63 lowercase letters, digits and '-', starting with a letter.", nameof(name));
        }

        return name;
    }

    /// <summary>Resource names are unique: they become connection string and service names.</summary>
    public static void EnsureUnique(IDistributedApplicationBuilder builder, string name)
    {
        if (builder.Resources.Any(r => string.Equals(r.Name, name, StringComparison.Ordinal)))
        {
            throw new DistributedApplicationException($"A resource named '{name}' already exists. Resource names are unique: they become connection string and service names.");
        }
    }
}
