using System.Text.Json.Nodes;
using NJsonSchema;

namespace SmartHub.UnitTests.Publishing;

/// <summary>
/// The Aspire manifest schema (shared/schemas/aspire-8.0.json, a draft-07 schema from schemastore.org), loaded for
/// NJsonSchema. NJsonSchema validates draft-04 keywords; the schema uses two later forms, rewritten to their exact
/// draft-04 equivalents: <c>"const": x</c> → <c>"enum": [x]</c>, and boolean subschemas under <c>properties</c>
/// (<c>"build": false</c>) → <c>{"not": {}}</c> / <c>{}</c>. Any other draft-06+ keyword fails the load, so nothing
/// is silently ignored (the canary test checks the validator rejects what the schema forbids).
/// </summary>
internal static class AspireManifestSchema
{
    private static readonly string[] UnsupportedKeywords = ["contains", "propertyNames", "if", "then", "else", "dependentRequired", "dependentSchemas", "unevaluatedProperties", "prefixItems", "$defs"];

    private static readonly Lazy<Task<JsonSchema>> Schema = new(LoadAsync);

    /// <summary>
    /// The schema beside the repository: CI clones the repository to X and puts shared/ at X/../shared; a developer's
    /// work tree sits beside shared/ too.
    /// </summary>
    public static string Path
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "SmartHub.sln")))
            {
                directory = directory.Parent;
            }

            if (directory is null)
            {
                throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds SmartHub.sln: the tests must run from the repository's build output.");
            }

            var schema = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory.FullName, "..", "shared", "schemas", "aspire-8.0.json"));
            return File.Exists(schema)
                ? schema
                : throw new FileNotFoundException($"The Aspire manifest schema is missing: expected {schema} (shared/ beside the repository at {directory.FullName}, as CI lays it out).", schema);
        }
    }

    /// <summary>Schema errors of <paramref name="json"/>, one line each (none: valid).</summary>
    public static async Task<IReadOnlyList<string>> ValidateAsync(string json)
    {
        var schema = await Schema.Value;
        return schema.Validate(json).Select(e => e.ToString().ReplaceLineEndings(" ")).ToList();
    }

    private static async Task<JsonSchema> LoadAsync()
    {
        var root = JsonNode.Parse(await File.ReadAllTextAsync(Path))!;
        Rewrite(root);
        return await JsonSchema.FromJsonAsync(root.ToJsonString());
    }

    /// <summary>Rewrites a schema (or, with <paramref name="names"/>, a map of names to schemas: properties, definitions).</summary>
    private static void Rewrite(JsonNode? node, bool names = false)
    {
        switch (node)
        {
            case JsonObject map when names:
                foreach (var (_, child) in map.ToList())
                {
                    Rewrite(child);
                }

                break;
            case JsonObject schema:
                if (UnsupportedKeywords.FirstOrDefault(schema.ContainsKey) is { } keyword)
                {
                    throw new NotSupportedException($"The Aspire schema uses '{keyword}', which NJsonSchema does not validate: extend {nameof(AspireManifestSchema)}.");
                }

                if (schema["const"] is { } constant)
                {
                    schema.Remove("const");
                    schema["enum"] = new JsonArray(constant.DeepClone());
                }

                if (schema["properties"] is JsonObject properties)
                {
                    foreach (var name in properties.Select(p => p.Key).ToList())
                    {
                        if (properties[name] is JsonValue value && value.TryGetValue<bool>(out var allowed))
                        {
                            properties[name] = allowed ? new JsonObject() : new JsonObject { ["not"] = new JsonObject() };
                        }
                    }
                }

                foreach (var (key, child) in schema.ToList())
                {
                    Rewrite(child, names: key is "properties" or "definitions");
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Rewrite(item);
                }

                break;
        }
    }
}
