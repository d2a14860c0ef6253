using System.Text;
using YamlDotNet.Serialization;

namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>
/// A YAML mapping that keeps its keys in insertion order, so objects read as Kubernetes writes them (apiVersion, kind,
/// metadata, spec). Plain dictionaries and lists, serialized by YamlDotNet: no hand-written quoting anywhere.
/// </summary>
internal sealed class YamlMap : Dictionary<string, object?>
{
    public YamlMap() : base(StringComparer.Ordinal)
    {
    }
}

internal static class Yaml
{
    // Strings that YAML would read as another type ("8080", "true", "1", "null", "0o17") are quoted; nothing else is.
    private static readonly ISerializer s_serializer = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    public static string Serialize(object value) => s_serializer.Serialize(value);

    /// <summary>A file of one or more documents (separated by <c>---</c>) after a comment header.</summary>
    public static string Documents(string header, params IEnumerable<object> documents)
    {
        var text = new StringBuilder();
        foreach (var line in header.Split('\n'))
        {
            text.Append("# ").Append(line).Append('\n');
        }

        var first = true;
        foreach (var document in documents)
        {
            if (!first)
            {
                text.Append("---\n");
            }

            text.Append(Serialize(document));
            first = false;
        }

        return text.ToString();
    }
}
