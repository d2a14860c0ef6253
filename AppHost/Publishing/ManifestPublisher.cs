using System.Buffers;
using System.Text.Json;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.Hosting.Publishing;

/// <summary>
/// Aspire's deployment manifest (aspire-manifest.json), in the form Aspire 9 writes it, for aspirate and any other tool
/// that reads the format (schema: https://json.schemastore.org/aspire-8.0.json): PostgreSQL and Redis as
/// <c>container.v0</c>, databases as <c>value.v0</c>, parameters as <c>parameter.v0</c>, services as <c>project.v0</c>.
/// Values are expressions (<c>{postgres-password.value}</c>) that the deployment tool resolves; no secret is written.
/// </summary>
internal sealed class ManifestPublisher : IPublisher
{
    public const string SchemaUrl = "https://json.schemastore.org/aspire-8.0.json";

    public const string PostgresImage = ContainerImages.Postgres;

    public const string RedisImage = ContainerImages.Redis;

    public async Task<IReadOnlyList<string>> PublishAsync(PublishContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Options.OutputPath;
        if (Directory.Exists(path) || Path.EndsInDirectorySeparator(path))
        {
            throw new DistributedApplicationException($"--output-path {path} is a directory: the manifest publisher writes one file; give its name (e.g. {Path.Combine(path, "aspire-manifest.json")}).");
        }

        var folder = Path.GetDirectoryName(path)!;
        var manifest = Write(context.Resources, folder);
        try
        {
            Directory.CreateDirectory(folder);

            // Written beside the target, then moved over it: a reader never sees half a manifest.
            var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            try
            {
                await File.WriteAllBytesAsync(temporary, manifest, cancellationToken).ConfigureAwait(false);
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DistributedApplicationException($"Cannot write the manifest to {path}: {ex.Message}", ex);
        }

        foreach (var project in context.Resources.OfType<ProjectResource>().Where(p => p.Replicas > 1))
        {
            HostConsole.Warn($"Project '{project.Name}' runs {project.Replicas} replicas locally; Aspire's manifest has no field for a replica count, so set it in the deployment (or use --publisher kubernetes, which writes it).");
        }

        return [path];
    }

    /// <summary>The manifest as UTF-8 (no BOM), indented, ending with a newline; project paths relative to <paramref name="manifestFolder"/>.</summary>
    internal static byte[] Write(IReadOnlyList<Resource> resources, string manifestFolder)
    {
        var environment = new PublishedEnvironment(resources);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            writer.WriteStartObject();
            writer.WriteString("$schema", SchemaUrl);
            writer.WriteStartObject("resources");
            foreach (var resource in resources)
            {
                writer.WriteStartObject(resource.Name);
                switch (resource)
                {
                    case ParameterResource parameter:
                        WriteParameter(writer, parameter);
                        break;
                    case PostgresServerResource postgres:
                        WritePostgres(writer, postgres, environment);
                        break;
                    case PostgresDatabaseResource database:
                        writer.WriteString("type", "value.v0");
                        writer.WriteString("connectionString", $"{{{database.Parent.Name}.connectionString}};Database={database.DatabaseName}");
                        break;
                    case RedisResource redis:
                        WriteRedis(writer, redis, environment);
                        break;
                    case ProjectResource project:
                        WriteProject(writer, project, environment, manifestFolder);
                        break;
                    default:
                        throw new DistributedApplicationException($"{resource} cannot be published: the manifest publisher knows parameters, PostgreSQL, databases, Redis and projects.");
                }

                writer.WriteEndObject();
            }

            // As Aspire writes the parameters a resource refers to but the graph does not declare: after the others.
            foreach (var input in environment.SecretInputs)
            {
                writer.WriteStartObject(input.Name);
                WriteParameterInput(writer, input.Name, secret: true, writeDefault: null);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteParameter(Utf8JsonWriter writer, ParameterResource parameter)
    {
        Action<Utf8JsonWriter>? writeDefault = (parameter.Secret, parameter.DefaultValue) switch
        {
            // A secret is generated by the deployment tool as it is here (StateFolder): letters and digits only, so that
            // it fits a connection string (Npgsql's ';', StackExchange.Redis' ',') unquoted. A secret's default value is
            // never written: it would be a secret in the manifest.
            (true, _) => w =>
            {
                w.WriteStartObject("generate");
                w.WriteNumber("minLength", parameter.GeneratedLength);
                w.WriteBoolean("special", false);
                w.WriteEndObject();
            },
            (false, { } value) => w => w.WriteString("value", value),
            // Neither: the operator supplies it, as locally (Parameters__name).
            (false, null) => null,
        };
        WriteParameterInput(writer, parameter.Name, parameter.Secret, writeDefault);
    }

    /// <summary>A <c>parameter.v0</c> whose value is its single input; <paramref name="writeDefault"/> writes the properties of its default (null: none).</summary>
    private static void WriteParameterInput(Utf8JsonWriter writer, string name, bool secret, Action<Utf8JsonWriter>? writeDefault)
    {
        writer.WriteString("type", "parameter.v0");
        writer.WriteString("value", $"{{{name}.inputs.value}}");
        writer.WriteStartObject("inputs");
        writer.WriteStartObject("value");
        writer.WriteString("type", "string");
        if (secret)
        {
            writer.WriteBoolean("secret", true);
        }

        if (writeDefault is not null)
        {
            writer.WriteStartObject("default");
            writeDefault(writer);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WritePostgres(Utf8JsonWriter writer, PostgresServerResource postgres, PublishedEnvironment environment)
    {
        var password = $"{{{postgres.Password.Name}.value}}";
        writer.WriteString("type", "container.v0");

        // The same form as PostgresServerResource.GetConnectionString, with the deployment's host and port.
        writer.WriteString("connectionString", $"Host={{{postgres.Name}.bindings.tcp.host}};Port={{{postgres.Name}.bindings.tcp.port}};Username={PostgresServerResource.UserName};Password={password}");
        writer.WriteString("image", PostgresImage);
        WriteEnvironment(writer, postgres, environment,
        [
            new("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256"),
            new("POSTGRES_INITDB_ARGS", "--auth-host=scram-sha-256 --auth-local=scram-sha-256"),
            new("POSTGRES_USER", PostgresServerResource.UserName),
            new("POSTGRES_PASSWORD", password),
        ]);
        WriteTcpBinding(writer, 5432);
    }

    private static void WriteRedis(Utf8JsonWriter writer, RedisResource redis, PublishedEnvironment environment)
    {
        var password = $"{{{redis.Password.Name}.value}}";
        writer.WriteString("type", "container.v0");

        // StackExchange.Redis' form, as RedisResource.GetConnectionString.
        writer.WriteString("connectionString", $"{{{redis.Name}.bindings.tcp.host}}:{{{redis.Name}.bindings.tcp.port}},password={password}");
        writer.WriteString("image", RedisImage);

        // The password reaches redis-server from the environment, not from a command line that `ps` would show.
        writer.WriteString("entrypoint", "/bin/sh");
        writer.WriteStartArray("args");
        writer.WriteStringValue("-c");
        writer.WriteStringValue("redis-server --requirepass $REDIS_PASSWORD");
        writer.WriteEndArray();
        WriteEnvironment(writer, redis, environment, [new("REDIS_PASSWORD", password)]);
        WriteTcpBinding(writer, 6379);
    }

    private static void WriteProject(Utf8JsonWriter writer, ProjectResource project, PublishedEnvironment environment, string manifestFolder)
    {
        writer.WriteString("type", "project.v0");

        // Relative to the manifest's folder, as the schema says paths are read.
        writer.WriteString("path", Path.GetRelativePath(manifestFolder, project.ProjectPath).Replace('\\', '/'));
        if (project.Args.Count > 0)
        {
            writer.WriteStartArray("args");
            foreach (var arg in project.Args)
            {
                writer.WriteStringValue(arg);
            }

            writer.WriteEndArray();
        }

        writer.WriteStartObject("env");
        foreach (var (key, value) in environment.For(project))
        {
            writer.WriteString(key, Expression(value));
        }

        writer.WriteEndObject();

        // No targetPort: the deployment tool chooses the port the project listens on (HTTP_PORTS) — aspirate, 8080. The
        // local gateway port (SMARTHUB_GATEWAY_PORT) is this machine's choice, not the deployment's.
        writer.WriteStartObject("bindings");
        writer.WriteStartObject("http");
        writer.WriteString("scheme", "http");
        writer.WriteString("protocol", "tcp");
        writer.WriteString("transport", "http");
        if (project.IsExternal)
        {
            writer.WriteBoolean("external", true);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteEnvironment(Utf8JsonWriter writer, Resource resource, PublishedEnvironment environment, IReadOnlyList<KeyValuePair<string, string>> fixedEntries)
    {
        var env = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in fixedEntries)
        {
            env[key] = value;
        }

        foreach (var (key, value) in environment.Own(resource))
        {
            env[key] = Expression(value);
        }

        writer.WriteStartObject("env");
        foreach (var (key, value) in env)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
    }

    private static void WriteTcpBinding(Utf8JsonWriter writer, int targetPort)
    {
        writer.WriteStartObject("bindings");
        writer.WriteStartObject("tcp");
        writer.WriteString("scheme", "tcp");
        writer.WriteString("protocol", "tcp");
        writer.WriteString("transport", "tcp");
        writer.WriteNumber("targetPort", targetPort);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>A value in Aspire's manifest expression language.</summary>
    private static string Expression(PublishedValue value) => value switch
    {
        PublishedValue.Literal literal => literal.Value,
        PublishedValue.Parameter parameter => $"{{{parameter.Resource.Name}.value}}",
        PublishedValue.Secret secret => $"{{{secret.Input.Name}.value}}",
        PublishedValue.ConnectionString reference => $"{{{reference.Resource.Name}.connectionString}}",
        PublishedValue.ServiceUrl service => $"{{{service.Project.Name}.bindings.http.url}}",
        PublishedValue.HttpTargetPort port => $"{{{port.Project.Name}.bindings.http.targetPort}}",
        _ => throw new InvalidOperationException($"Unknown published value {value}."),
    };
}
