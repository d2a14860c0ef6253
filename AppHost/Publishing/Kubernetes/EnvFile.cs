using System.Text;

namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>
/// A kustomize env file (<c>KEY=VALUE</c> lines, <c>#</c> comments), the input of a secretGenerator. Values are single
/// lines taken literally after the first <c>=</c>.
/// </summary>
internal static class EnvFile
{
    /// <summary>The values of an existing file (an operator's edits included); empty when there is none.</summary>
    public static Dictionary<string, string> Read(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }

        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimStart();
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] == '#' || equals <= 0)
            {
                continue;
            }

            values[line[..equals]] = line[(equals + 1)..];
        }

        return values;
    }

    public static string Format(string header, IEnumerable<KeyValuePair<string, string>> values)
    {
        var text = new StringBuilder();
        foreach (var line in header.Split('\n'))
        {
            text.Append(line.Length == 0 ? "#" : "# " + line).Append('\n');
        }

        foreach (var (key, value) in values)
        {
            if (value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal))
            {
                throw new DistributedApplicationException($"Cannot write '{key}' to a kustomize env file: its value has a line break.");
            }

            text.Append(key).Append('=').Append(value).Append('\n');
        }

        return text.ToString();
    }
}
