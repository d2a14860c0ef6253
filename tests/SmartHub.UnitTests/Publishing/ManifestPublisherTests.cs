using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmartHub.Hosting;
using SmartHub.Hosting.Publishing;
using SmartHub.Hosting.Testing;

namespace SmartHub.UnitTests.Publishing;

/// <summary>
/// <c>--publisher manifest</c>: Aspire's aspire-manifest.json for the real graph, valid against the schema aspirate reads,
/// every expression pointing at something that exists, and no secret in it.
/// </summary>
public sealed partial class ManifestPublisherTests : IDisposable
{
    private const string ProviderKey = "sk-unit-test-literal-4f1c9a7e";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "smarthub-manifest-" + Guid.NewGuid().ToString("N"));

    private string StateDirectory => Path.Combine(_folder, "state");

    /// <summary>Publishes the AppHost's own graph (Program) through DistributedApplication.PublishAsync, in process.</summary>
    private async Task<(string Text, JsonElement Resources)> PublishProgramAsync(params string[] extraArgs)
    {
        var output = Path.Combine(_folder, "out", "aspire-manifest.json");
        string[] args = ["--publisher", "manifest", "--output-path", output, "--SMARTHUB_STATE_DIR", StateDirectory, .. extraArgs];
        // The AppHost's entry point (Program): named by a type of its assembly, since AuthService's Program is visible here too.
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<DistributedApplication>(args);
        var app = await builder.BuildAsync();

        var files = await app.PublishAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([output], files);
        var text = await File.ReadAllTextAsync(output);
        return (text, JsonDocument.Parse(text).RootElement.Clone().GetProperty("resources"));
    }

    private static JsonElement Manifest(DistributedApplicationBuilder builder, string folder) =>
        JsonDocument.Parse(ManifestPublisher.Write(builder.Resources, folder)).RootElement.GetProperty("resources").Clone();

    [Fact]
    public async Task The_real_graph_publishes_a_manifest_valid_against_the_aspire_schema()
    {
        var (text, _) = await PublishProgramAsync();

        var errors = await AspireManifestSchema.ValidateAsync(text);

        Assert.True(errors.Count == 0, "Schema errors:\n" + string.Join("\n", errors) + "\n\n" + text);
        Assert.StartsWith("""{\n  "$schema": "https://json.schemastore.org/aspire-8.0.json",""".Replace("\\n", "\n", StringComparison.Ordinal), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_schema_check_rejects_what_the_schema_forbids()
    {
        // The validator is NJsonSchema on a rewritten schema: these prove the rewrite kept const, oneOf and false schemas.
        string[] invalid =
        [
            """{"resources":{"a":{"type":"project.v0","path":"a.csproj","replicas":2}}}""",
            """{"resources":{"a":{"type":"value.v0"}}}""",
            """{"resources":{"a":{"type":"container.v0","image":"x","build":{"context":".","dockerfile":"Dockerfile"}}}}""",
            """{"resources":{"a":{"type":"project.v0","path":"a.csproj","bindings":{"http":{"scheme":"http","protocol":"http","transport":"http"}}}}}""",
            """{"resources":{"a":{"type":"parameter.v0","value":"{a.inputs.value}","inputs":{"value":{"type":"string","default":{"generate":{"minLength":22},"value":"both"}}}}}}""",
            """{"resources":{"a":{"type":"project.v0","path":"a.csproj","env":{"A":1}}}}""",
        ];
        const string valid = """{"resources":{"a":{"type":"project.v0","path":"a.csproj","bindings":{"http":{"scheme":"http","protocol":"tcp","transport":"http","external":true}}}}}""";

        foreach (var document in invalid)
        {
            Assert.NotEmpty(await AspireManifestSchema.ValidateAsync(document));
        }

        Assert.Empty(await AspireManifestSchema.ValidateAsync(valid));
    }

    [Fact]
    public async Task Every_expression_names_an_existing_resource_and_what_it_has()
    {
        var (_, resources) = await PublishProgramAsync("--Providers:openai:ApiKey", ProviderKey);
        var strings = new List<string>();
        Collect(resources, strings);
        var expressions = strings.SelectMany(s => Expression().Matches(s)).Select(m => m.Groups[1].Value).Distinct().ToList();

        Assert.NotEmpty(expressions);
        Assert.All(expressions, expression =>
        {
            var parts = expression.Split('.');
            Assert.True(resources.TryGetProperty(parts[0], out var resource), $"{{{expression}}}: no resource '{parts[0]}'.");
            var type = resource.GetProperty("type").GetString();
            switch (parts[1..])
            {
                case ["connectionString"]:
                    Assert.True(resource.TryGetProperty("connectionString", out _), $"{{{expression}}}: '{parts[0]}' has no connection string.");
                    break;
                case ["value"]:
                    Assert.Equal("parameter.v0", type);
                    break;
                case ["inputs", var input]:
                    Assert.Equal("parameter.v0", type);
                    Assert.True(resource.GetProperty("inputs").TryGetProperty(input, out _), $"{{{expression}}}: no input '{input}'.");
                    break;
                case ["bindings", var binding, var property]:
                    Assert.True(resource.TryGetProperty("bindings", out var bindings) && bindings.TryGetProperty(binding, out _), $"{{{expression}}}: '{parts[0]}' has no binding '{binding}'.");
                    Assert.Contains(property, new[] { "host", "port", "targetPort", "url", "scheme" });
                    break;
                default:
                    Assert.Fail($"{{{expression}}} is not an expression Aspire's manifest defines.");
                    break;
            }
        });
    }

    [Fact]
    public async Task Postgres_redis_databases_and_parameters_have_the_shape_aspire_writes()
    {
        var (_, resources) = await PublishProgramAsync();

        var postgres = resources.GetProperty("postgres");
        Assert.Equal("container.v0", postgres.GetProperty("type").GetString());
        Assert.Matches(@"^docker\.io/library/postgres:\d+\.\d+$", postgres.GetProperty("image").GetString());
        Assert.Equal("Host={postgres.bindings.tcp.host};Port={postgres.bindings.tcp.port};Username=postgres;Password={postgres-password.value}", postgres.GetProperty("connectionString").GetString());
        var postgresEnv = postgres.GetProperty("env");
        Assert.Equal("scram-sha-256", postgresEnv.GetProperty("POSTGRES_HOST_AUTH_METHOD").GetString());
        Assert.Equal("--auth-host=scram-sha-256 --auth-local=scram-sha-256", postgresEnv.GetProperty("POSTGRES_INITDB_ARGS").GetString());
        Assert.Equal("postgres", postgresEnv.GetProperty("POSTGRES_USER").GetString());
        Assert.Equal("{postgres-password.value}", postgresEnv.GetProperty("POSTGRES_PASSWORD").GetString());
        var tcp = postgres.GetProperty("bindings").GetProperty("tcp");
        Assert.Equal(("tcp", "tcp", "tcp", 5432), (tcp.GetProperty("scheme").GetString(), tcp.GetProperty("protocol").GetString(), tcp.GetProperty("transport").GetString(), tcp.GetProperty("targetPort").GetInt32()));

        var authdb = resources.GetProperty("authdb");
        Assert.Equal("value.v0", authdb.GetProperty("type").GetString());
        Assert.Equal("{postgres.connectionString};Database=authdb", authdb.GetProperty("connectionString").GetString());
        Assert.Equal("{postgres.connectionString};Database=coredb", resources.GetProperty("coredb").GetProperty("connectionString").GetString());

        var cache = resources.GetProperty("cache");
        Assert.Equal("container.v0", cache.GetProperty("type").GetString());
        Assert.Equal("docker.io/library/redis:7.2.7", cache.GetProperty("image").GetString());
        Assert.Equal("{cache.bindings.tcp.host}:{cache.bindings.tcp.port},password={cache-password.value}", cache.GetProperty("connectionString").GetString());
        Assert.Equal("/bin/sh", cache.GetProperty("entrypoint").GetString());
        Assert.Equal(["-c", "redis-server --requirepass $REDIS_PASSWORD"], cache.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("{cache-password.value}", cache.GetProperty("env").GetProperty("REDIS_PASSWORD").GetString());
        Assert.Equal(6379, cache.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());

        foreach (var name in new[] { "postgres-password", "cache-password", "admin-password", "auth-encryption-key", "internal-token" })
        {
            var parameter = resources.GetProperty(name);
            Assert.Equal("parameter.v0", parameter.GetProperty("type").GetString());
            Assert.Equal($"{{{name}.inputs.value}}", parameter.GetProperty("value").GetString());
            var input = parameter.GetProperty("inputs").GetProperty("value");
            Assert.Equal("string", input.GetProperty("type").GetString());
            Assert.True(input.GetProperty("secret").GetBoolean(), name);
            var generate = input.GetProperty("default").GetProperty("generate");
            Assert.True(generate.GetProperty("minLength").GetInt32() >= 22, name);
            Assert.False(generate.GetProperty("special").GetBoolean(), name); // as generated locally: fits connection strings
        }

        var email = resources.GetProperty("admin-email").GetProperty("inputs").GetProperty("value");
        Assert.Equal("admin@smarthub.local", email.GetProperty("default").GetProperty("value").GetString());
        Assert.False(email.TryGetProperty("secret", out _));
    }

    [Fact]
    public async Task Projects_get_the_environment_and_bindings_aspire_writes()
    {
        var (_, resources) = await PublishProgramAsync();

        Assert.Equal(
            ["admin-email", "admin-password", "auth-encryption-key", "internal-token", "postgres-password", "postgres", "authdb", "coredb", "cache-password", "cache", "auth", "core", "mcp", "gateway"],
            resources.EnumerateObject().Select(r => r.Name));

        var auth = resources.GetProperty("auth");
        Assert.Equal("project.v0", auth.GetProperty("type").GetString());
        var authEnv = auth.GetProperty("env");
        Assert.Equal("{authdb.connectionString}", authEnv.GetProperty("ConnectionStrings__authdb").GetString());
        Assert.Equal("{cache.connectionString}", authEnv.GetProperty("ConnectionStrings__cache").GetString());
        Assert.Equal("{admin-password.value}", authEnv.GetProperty("Bootstrap__AdminPassword").GetString());
        Assert.Equal("{auth-encryption-key.value}", authEnv.GetProperty("Auth__KeyEncryptionKey").GetString());
        Assert.Equal(
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "ASPNETCORE_FORWARDEDHEADERS_ENABLED", "HTTP_PORTS", "ConnectionStrings__authdb"],
            authEnv.EnumerateObject().Select(e => e.Name).Take(6));
        Assert.Equal("{auth.bindings.http.targetPort}", authEnv.GetProperty("HTTP_PORTS").GetString());

        var mcpEnv = resources.GetProperty("mcp").GetProperty("env");
        Assert.Equal("{core.bindings.http.url}", mcpEnv.GetProperty("services__core__http__0").GetString());
        Assert.Equal("{auth.bindings.http.url}", mcpEnv.GetProperty("services__auth__http__0").GetString());
        Assert.Equal("{internal-token.value}", mcpEnv.GetProperty("Internal__Token").GetString());

        foreach (var project in new[] { "auth", "core", "mcp", "gateway" })
        {
            var resource = resources.GetProperty(project);
            var env = resource.GetProperty("env");
            Assert.Equal("true", env.GetProperty("ASPNETCORE_FORWARDEDHEADERS_ENABLED").GetString());
            Assert.Equal("in_memory", env.GetProperty("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY").GetString());

            // Local-only: workstation GC for services sharing one machine, loopback URLs, the dashboard's exporter.
            foreach (var local in new[] { "DOTNET_gcServer", "ASPNETCORE_URLS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "ASPNETCORE_ENVIRONMENT" })
            {
                Assert.False(env.TryGetProperty(local, out _), $"{project} publishes {local}");
            }

            var http = resource.GetProperty("bindings").GetProperty("http");
            Assert.Equal(("http", "tcp", "http"), (http.GetProperty("scheme").GetString(), http.GetProperty("protocol").GetString(), http.GetProperty("transport").GetString()));
            Assert.Equal(project == "gateway", http.TryGetProperty("external", out var external) && external.GetBoolean());
            Assert.False(http.TryGetProperty("port", out _), "the local gateway port (SMARTHUB_GATEWAY_PORT) is not the deployment's");
        }
    }

    [Fact]
    public async Task Project_paths_are_relative_to_the_manifest_folder()
    {
        var (_, resources) = await PublishProgramAsync();
        var manifestFolder = Path.Combine(_folder, "out");

        foreach (var (name, project) in new[] { ("auth", "AuthService"), ("core", "CoreService"), ("mcp", "McpServer"), ("gateway", "Gateway") })
        {
            var path = resources.GetProperty(name).GetProperty("path").GetString()!;
            Assert.False(Path.IsPathRooted(path), path);
            var resolved = Path.GetFullPath(Path.Combine(manifestFolder, path));
            Assert.EndsWith($"/{project}/{project}.csproj", resolved, StringComparison.Ordinal);
            Assert.True(File.Exists(resolved), resolved);
        }

        // Beside the AppHost, as `dotnet run --project AppHost -- --output-path aspire-manifest.json` from the root puts it.
        var builder = new DistributedApplicationBuilder([]);
        builder.AddProject("core", "../CoreService/CoreService.csproj");
        Assert.Equal("CoreService/CoreService.csproj", Manifest(builder, Path.GetDirectoryName(builder.AppHostDirectory)!).GetProperty("core").GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_provider_api_key_given_to_the_apphost_becomes_a_parameter_never_the_literal()
    {
        var (text, resources) = await PublishProgramAsync("--Providers:openai:ApiKey", ProviderKey, "--Providers:openai:Type", "openai", "--Providers:openai:ApiKeyHeader", "Authorization");

        Assert.DoesNotContain(ProviderKey, text, StringComparison.Ordinal);
        var mcpEnv = resources.GetProperty("mcp").GetProperty("env");
        Assert.Equal("{providers-openai-apikey.value}", mcpEnv.GetProperty("Providers__openai__ApiKey").GetString());
        Assert.Equal("openai", mcpEnv.GetProperty("Providers__openai__Type").GetString()); // not a secret: written as it is
        Assert.Equal("Authorization", mcpEnv.GetProperty("Providers__openai__ApiKeyHeader").GetString()); // a header's name

        // Declared once, after the graph's own resources, as a secret the operator supplies (nothing to generate).
        var parameter = resources.GetProperty("providers-openai-apikey");
        Assert.Equal("providers-openai-apikey", resources.EnumerateObject().Last().Name);
        Assert.Equal("parameter.v0", parameter.GetProperty("type").GetString());
        var input = parameter.GetProperty("inputs").GetProperty("value");
        Assert.True(input.GetProperty("secret").GetBoolean());
        Assert.False(input.TryGetProperty("default", out _));
        Assert.Empty(await AspireManifestSchema.ValidateAsync(text));
    }

    [Theory]
    [InlineData("Providers__openai__ApiKey", true)]
    [InlineData("Providers:anthropic:ApiKey", true)]
    [InlineData("Db__Password", true)]
    [InlineData("Oauth__ClientSecret", true)]
    [InlineData("Github__AccessToken", true)]
    [InlineData("Providers__x__Headers__Authorization", true)]
    [InlineData("Auth__Secrets__Signing", true)]
    [InlineData("Legacy__ConnectionString", true)]
    [InlineData("Providers__openai__ApiKeyHeader", false)]
    [InlineData("Providers__openai__BaseUrl", false)]
    [InlineData("Providers__openai__Models__0", false)]
    [InlineData("Providers__openai__MaxTokensField", false)]
    [InlineData("Cache__KeyPrefix", false)]
    [InlineData("Mock__MaxTokens", false)]
    [InlineData("Pricing__Models__gpt-4o__PromptPer1K", false)]
    public void Keys_that_name_a_secret_are_recognised(string key, bool secret) =>
        Assert.Equal(secret, PublishedEnvironment.IsSecretKey(key));

    [Fact]
    public void Secret_literals_become_distinct_valid_parameter_names()
    {
        var builder = new DistributedApplicationBuilder([]);
        builder.AddParameter("providers-openai-apikey", secret: true); // taken: the secret gets another name
        builder.AddProject("a", "../A/A.csproj").WithEnvironment("Providers__openai__ApiKey", "one").WithEnvironment("Weird__9_Key", "x");
        builder.AddProject("b", "../B/B.csproj").WithEnvironment("Providers__openai__ApiKey", "one"); // same key and value: same secret
        builder.AddProject("c", "../C/C.csproj").WithEnvironment("Providers__openai__ApiKey", "two"); // another value: another secret

        var environment = new PublishedEnvironment(builder.Resources);

        Assert.Equal(["providers-openai-apikey-2", "weird-9-key", "providers-openai-apikey-3"], environment.SecretInputs.Select(s => s.Name));
        Assert.All(environment.SecretInputs, s => Assert.Equal(s.Name, SmartHub.Hosting.ResourceNames.Validate(s.Name)));
        Assert.Equal("secret-9-token", PublishedEnvironment.NameFor("9__Token"));
        Assert.Equal(63, PublishedEnvironment.NameFor(new string('a', 100) + "__Key").Length);
    }

    [Fact]
    public void A_secret_parameter_never_publishes_its_default_and_a_plain_one_without_default_is_asked_for()
    {
        var builder = new DistributedApplicationBuilder([]);
        builder.AddResource(new ParameterResource("seeded-secret", secret: true) { DefaultValue = "do-not-publish-me" });
        builder.AddParameter("region");

        var bytes = ManifestPublisher.Write(builder.Resources, _folder);
        var resources = JsonDocument.Parse(bytes).RootElement.GetProperty("resources");

        Assert.DoesNotContain("do-not-publish-me", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(32, resources.GetProperty("seeded-secret").GetProperty("inputs").GetProperty("value").GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32());
        var region = resources.GetProperty("region").GetProperty("inputs").GetProperty("value");
        Assert.False(region.TryGetProperty("default", out _));
        Assert.False(region.TryGetProperty("secret", out _));
    }

    [Fact]
    public async Task Replicas_are_not_expanded_and_not_written()
    {
        var builder = new DistributedApplicationBuilder([]);
        var cache = builder.AddRedis("cache");
        builder.AddProject("gateway", "../Gateway/Gateway.csproj").WithReference(cache).WithExternalHttpEndpoints().WithReplicas(3).WithArgs("--urls-from-env");

        var bytes = ManifestPublisher.Write(builder.Resources, _folder);
        var resources = JsonDocument.Parse(bytes).RootElement.GetProperty("resources");

        Assert.Equal(["cache-password", "cache", "gateway"], resources.EnumerateObject().Select(r => r.Name));
        Assert.False(resources.GetProperty("gateway").TryGetProperty("replicas", out _)); // project.v0 has no such field
        Assert.Equal(["--urls-from-env"], resources.GetProperty("gateway").GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Empty(await AspireManifestSchema.ValidateAsync(System.Text.Encoding.UTF8.GetString(bytes)));
    }

    [Fact]
    public async Task The_file_is_utf8_without_bom_ends_with_a_newline_and_its_folder_is_created()
    {
        var output = Path.Combine(_folder, "a", "b", "aspire-manifest.json");
        var builder = new DistributedApplicationBuilder([]);
        builder.AddRedis("cache");

        await new ManifestPublisher().PublishAsync(Context(builder, output), CancellationToken.None);

        var bytes = await File.ReadAllBytesAsync(output);
        Assert.Equal((byte)'{', bytes[0]);
        Assert.Equal("}\n"u8.ToArray(), bytes[^2..]);
        Assert.DoesNotContain("\r", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(["aspire-manifest.json"], Directory.GetFiles(Path.GetDirectoryName(output)!).Select(Path.GetFileName)); // no temporary left
    }

    [Fact]
    public async Task An_output_path_that_is_a_directory_is_refused()
    {
        Directory.CreateDirectory(_folder);
        var builder = new DistributedApplicationBuilder([]);
        builder.AddRedis("cache");

        var existing = await Assert.ThrowsAsync<DistributedApplicationException>(() => new ManifestPublisher().PublishAsync(Context(builder, _folder), CancellationToken.None));
        var slash = await Assert.ThrowsAsync<DistributedApplicationException>(() => new ManifestPublisher().PublishAsync(Context(builder, Path.Combine(_folder, "new") + "/"), CancellationToken.None));

        Assert.Contains("is a directory", existing.Message, StringComparison.Ordinal);
        Assert.Contains("aspire-manifest.json", existing.Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", slash.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_built_apphost_publishes_and_starts_nothing()
    {
        var output = Path.Combine(_folder, "published", "aspire-manifest.json");

        var (exitCode, all) = await RunAppHostAsync(["--publisher", "manifest", "--output-path", output], new() { ["Providers__openai__ApiKey"] = ProviderKey });

        Assert.True(exitCode == 0, all);
        Assert.Contains("Published (manifest) 1 file(s)", all, StringComparison.Ordinal);
        var text = await File.ReadAllTextAsync(output);
        Assert.Equal("https://json.schemastore.org/aspire-8.0.json", JsonDocument.Parse(text).RootElement.GetProperty("$schema").GetString());
        Assert.DoesNotContain(ProviderKey, text, StringComparison.Ordinal);
        Assert.Empty(await AspireManifestSchema.ValidateAsync(text));

        // Nothing ran: no state folder (PostgreSQL's and Redis' data, generated secrets) was created.
        Assert.False(Directory.Exists(StateDirectory), "publishing created the state folder");
    }

    [Theory]
    [InlineData(new[] { "--publisher", "nope", "--output-path", "x.json" }, "--publisher must be 'manifest' or 'kubernetes', not 'nope'")]
    [InlineData(new[] { "--publisher", "manifest" }, "--output-path FILE is required")]
    public async Task Bad_publish_options_are_named_without_a_stack_trace(string[] args, string message)
    {
        var (exitCode, all) = await RunAppHostAsync(args, []);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, all, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StateDirectory));
    }

    [Fact]
    public async Task An_output_directory_ends_the_apphost_with_its_message()
    {
        Directory.CreateDirectory(_folder);

        var (exitCode, all) = await RunAppHostAsync(["--publisher", "manifest", "--output-path", _folder], []);

        Assert.Equal(1, exitCode);
        Assert.Contains("is a directory", all, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
    }

    private static PublishContext Context(DistributedApplicationBuilder builder, string output) =>
        new(builder.Resources, new PublishOptions { Publisher = PublishOptions.Manifest, OutputPath = output }, builder.AppHostDirectory);

    private async Task<(int ExitCode, string Output)> RunAppHostAsync(string[] args, Dictionary<string, string> environment)
    {
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAppHostAsync(
            new Dictionary<string, string>(environment) { ["SMARTHUB_STATE_DIR"] = StateDirectory }, TimeSpan.FromSeconds(60), args);
        return (exitCode, stdout + stderr);
    }

    private static void Collect(JsonElement element, List<string> strings)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                strings.Add(element.GetString()!);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Collect(property.Value, strings);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, strings);
                }

                break;
        }
    }

    [GeneratedRegex(@"\{([^{}]+)\}")]
    private static partial Regex Expression();

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
