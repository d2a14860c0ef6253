using System.Globalization;
using System.Text.Json.Nodes;
using SmartHub.Hosting;
using SmartHub.Hosting.Testing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SmartHub.UnitTests.Publishing;

/// <summary>
/// The real graph (the AppHost's Program) published for Kubernetes into a temporary folder, and the objects
/// <c>kubectl kustomize</c> renders from its base and both overlays. kubectl (with its built-in kustomize) and Node.js
/// with tests/k8s-validate's npm packages are installed by <c>./smarthub.sh setup</c>; the tests fail, naming them,
/// without them.
/// </summary>
public sealed class PublishedKubernetesTree : IAsyncLifetime
{
    public const string Registry = "registry.example.com/smarthub";
    public const string Tag = "1.2.3";
    public const string Namespace = "smarthub-test";

    private static readonly TimeSpan s_toolTimeout = TimeSpan.FromMinutes(2);

    public string Directory { get; private set; } = "";
    public IReadOnlyList<string> Files { get; private set; } = [];

    /// <summary>Rendered objects of "base", "development" and "production".</summary>
    public Dictionary<string, RenderedObjects> Rendered { get; } = new(StringComparer.Ordinal);

    /// <summary>kubectl kustomize's output text, by the same names.</summary>
    public Dictionary<string, string> RenderedText { get; } = new(StringComparer.Ordinal);

    public RenderedObjects Base => Rendered["base"];
    public RenderedObjects Development => Rendered["development"];
    public RenderedObjects Production => Rendered["production"];

    public static string Root { get; } = FindRoot();

    public async Task InitializeAsync()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("smarthub-k8s-").FullName;
        Files = await PublishAsync(Directory, ["--image-registry", Registry, "--image-tag", Tag, "--namespace", Namespace]);
        foreach (var (name, path) in new[] { ("base", "base"), ("development", "overlays/development"), ("production", "overlays/production") })
        {
            var text = await KustomizeAsync(Path.Combine(Directory, path));
            RenderedText[name] = text;
            Rendered[name] = RenderedObjects.Parse(text);
        }
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Runs the AppHost's entry point with <c>--publisher kubernetes --output-path DIR</c> and publishes.</summary>
    public static async Task<IReadOnlyList<string>> PublishAsync(string directory, params string[] args)
    {
        string[] all = ["--publisher", "kubernetes", "--output-path", directory, .. args];
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<DistributedApplication>(all).WaitAsync(s_toolTimeout);
        await using var app = await builder.BuildAsync();
        return await app.PublishAsync().WaitAsync(s_toolTimeout);
    }

    public static async Task<string> KustomizeAsync(string directory)
    {
        var kubectl = FindOnPath("kubectl")
            ?? throw new Xunit.Sdk.XunitException(
                "kubectl is not installed: the Kubernetes publisher's tests render the published tree with `kubectl kustomize`. "
                + "Install kubectl 1.21 or newer (kustomize v4+); ./smarthub.sh setup says how.");
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(kubectl, null, "kustomize", directory);
        Assert.True(exitCode == 0, $"kubectl kustomize {directory} exited with {exitCode}:\n{stderr}");
        return stdout;
    }

    /// <summary>tests/k8s-validate/validate.mjs (kubernetes-models) on rendered YAML files: its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> ValidateAsync(params string[] files)
    {
        var node = FindOnPath("node")
            ?? throw new Xunit.Sdk.XunitException("Node.js is not installed: the manifests' schema validation runs on it (./smarthub.sh setup installs it).");
        var dir = Path.Combine(Root, "tests", "k8s-validate");
        if (!File.Exists(Path.Combine(dir, "node_modules", "kubernetes-models", "package.json")))
        {
            throw new Xunit.Sdk.XunitException($"The npm package kubernetes-models is not installed in {dir}/node_modules: run ./smarthub.sh setup (npm ci there).");
        }

        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(node, dir, [Path.Combine(dir, "validate.mjs"), .. files]);
        return (exitCode, stdout + stderr);
    }


    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/local/bin")
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartHub.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SmartHub.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>Kubernetes objects read from multi-document YAML, as JSON nodes (plain scalars typed as YAML 1.2 reads them).</summary>
public sealed class RenderedObjects(IReadOnlyList<JsonObject> objects)
{
    public IReadOnlyList<JsonObject> All { get; } = objects;

    public static RenderedObjects Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return new RenderedObjects(stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonObject>().ToList());
    }

    public IEnumerable<JsonObject> OfKind(string kind) => All.Where(o => (string?)o["kind"] == kind);

    /// <summary>An object by kind and name; a generated ConfigMap or Secret also by its name before kustomize's hash suffix.</summary>
    public JsonObject Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => NameOf(o) == name)
        ?? OfKind(kind).SingleOrDefault(o => NameOf(o).StartsWith(name + "-", StringComparison.Ordinal) && NameOf(o).Length == name.Length + 11)
        ?? throw new Xunit.Sdk.XunitException($"No {kind} '{name}' among: {string.Join(", ", OfKind(kind).Select(NameOf))}");

    public static string NameOf(JsonObject o) => (string)o["metadata"]!["name"]!;

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}"),
    };

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        return value switch
        {
            null or "" or "null" or "~" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            _ => JsonValue.Create(value),
        };
    }
}
