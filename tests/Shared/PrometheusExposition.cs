using System.Globalization;
using System.Text;

namespace SmartHub.Tests.Shared;

/// <summary>One sample line: <c>name{labels} value</c>.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of Prometheus' text exposition format 0.0.4, for tests: it throws <see cref="FormatException"/>
/// (naming the line) on anything Prometheus would refuse or that makes a scrape ambiguous: a bad metric or label name,
/// a bad escape, a second TYPE for a family, a sample of a family declared later, the same series twice, histogram
/// buckets that decrease or whose <c>+Inf</c> differs from <c>_count</c>. Shared by the unit and integration tests.
/// </summary>
internal sealed class PrometheusExposition
{
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _help = new(StringComparer.Ordinal);
    private readonly List<PrometheusSample> _samples = [];

    public IReadOnlyDictionary<string, string> Types => _types;

    public IReadOnlyDictionary<string, string> Help => _help;

    public IReadOnlyList<PrometheusSample> Samples => _samples;

    /// <summary>The samples of metric <paramref name="name"/> (a sample name: <c>x_bucket</c>, <c>x_total</c>, ...).</summary>
    public IEnumerable<PrometheusSample> Named(string name) => _samples.Where(sample => sample.Name == name);

    /// <summary>The one sample of <paramref name="name"/> carrying all <paramref name="labels"/>; throws when there is not exactly one.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var matches = Named(name).Where(sample => labels.All(label => sample.Labels.TryGetValue(label.Name, out var value) && value == label.Value)).ToList();
        return matches.Count == 1
            ? matches[0].Value
            : throw new InvalidOperationException($"{matches.Count} samples of {name} with {string.Join(",", labels.Select(l => $"{l.Name}={l.Value}"))}");
    }

    public static PrometheusExposition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new PrometheusExposition();
        var seriesSeen = new HashSet<string>(StringComparer.Ordinal);
        var familiesWithSamples = new HashSet<string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                if (line.StartsWith('#'))
                {
                    result.ParseComment(line, familiesWithSamples);
                    continue;
                }

                var sample = ParseSample(line);
                var family = result.FamilyOf(sample.Name);
                familiesWithSamples.Add(family);
                var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
                if (!seriesSeen.Add(key))
                {
                    throw new FormatException($"duplicate series {key}");
                }

                result._samples.Add(sample);
            }
            catch (FormatException exception)
            {
                throw new FormatException($"line {i + 1} ({line}): {exception.Message}", exception);
            }
        }

        result.CheckHistograms();
        return result;
    }

    private void ParseComment(string line, HashSet<string> familiesWithSamples)
    {
        var parts = line.Split(' ', 4);
        if (parts.Length < 3 || parts[1] is not ("HELP" or "TYPE"))
        {
            return; // an ordinary comment
        }

        var name = parts[2];
        if (!IsMetricName(name))
        {
            throw new FormatException($"bad metric name '{name}'");
        }

        if (parts[1] == "HELP")
        {
            if (!_help.TryAdd(name, Unescape(parts.Length > 3 ? parts[3] : string.Empty, allowQuote: false)))
            {
                throw new FormatException($"second HELP for {name}");
            }

            return;
        }

        var type = parts.Length > 3 ? parts[3] : string.Empty;
        if (type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
        {
            throw new FormatException($"unknown type '{type}'");
        }

        if (familiesWithSamples.Contains(name) || !_types.TryAdd(name, type))
        {
            throw new FormatException($"TYPE of {name} repeated or after its samples");
        }
    }

    private string FamilyOf(string sampleName)
    {
        foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && _types.TryGetValue(sampleName[..^suffix.Length], out var type) && type == "histogram")
            {
                return sampleName[..^suffix.Length];
            }
        }

        return sampleName;
    }

    private void CheckHistograms()
    {
        foreach (var (family, type) in _types)
        {
            if (type != "histogram")
            {
                continue;
            }

            var buckets = Named(family + "_bucket").GroupBy(sample => LabelKey(sample.Labels, except: "le"));
            foreach (var series in buckets)
            {
                var ordered = series.OrderBy(sample => ParseValue(sample.Labels["le"])).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    if (ordered[i].Value < ordered[i - 1].Value)
                    {
                        throw new FormatException($"{family}{{{series.Key}}}: bucket le={ordered[i].Labels["le"]} below le={ordered[i - 1].Labels["le"]}");
                    }
                }

                if (ordered.Count == 0 || ordered[^1].Labels["le"] != "+Inf")
                {
                    throw new FormatException($"{family}{{{series.Key}}}: no le=\"+Inf\" bucket");
                }

                var count = Named(family + "_count").Single(sample => LabelKey(sample.Labels, null) == series.Key).Value;
                if (count != ordered[^1].Value)
                {
                    throw new FormatException($"{family}{{{series.Key}}}: _count {count} differs from the +Inf bucket {ordered[^1].Value}");
                }

                _ = Named(family + "_sum").Single(sample => LabelKey(sample.Labels, null) == series.Key);
            }
        }
    }

    private static string LabelKey(IReadOnlyDictionary<string, string> labels, string? except) =>
        string.Join(",", labels.Where(l => l.Key != except).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static PrometheusSample ParseSample(string line)
    {
        var position = 0;
        while (position < line.Length && line[position] is not ('{' or ' '))
        {
            position++;
        }

        var name = line[..position];
        if (!IsMetricName(name))
        {
            throw new FormatException($"bad metric name '{name}'");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (position < line.Length && line[position] == '{')
        {
            position++;
            while (line[position] != '}')
            {
                var start = position;
                while (line[position] != '=')
                {
                    position++;
                }

                var labelName = line[start..position];
                if (!IsLabelName(labelName))
                {
                    throw new FormatException($"bad label name '{labelName}'");
                }

                if (line[++position] != '"')
                {
                    throw new FormatException("label value not quoted");
                }

                var value = new StringBuilder();
                position++;
                while (line[position] != '"')
                {
                    if (line[position] == '\\')
                    {
                        value.Append(line[++position] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"bad escape \\{other}"),
                        });
                    }
                    else
                    {
                        value.Append(line[position]);
                    }

                    position++;
                }

                position++;
                if (!labels.TryAdd(labelName, value.ToString()))
                {
                    throw new FormatException($"label {labelName} twice");
                }

                if (line[position] == ',')
                {
                    position++;
                }
                else if (line[position] != '}')
                {
                    throw new FormatException("expected ',' or '}' after a label");
                }
            }

            position++;
        }

        if (position >= line.Length || line[position] != ' ')
        {
            throw new FormatException("expected a space before the value");
        }

        var rest = line[(position + 1)..].Split(' ');
        if (rest.Length > 2)
        {
            throw new FormatException("trailing text after value and timestamp");
        }

        return new PrometheusSample(name, labels, ParseValue(rest[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string Unescape(string text, bool allowQuote)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                builder.Append(text[i]);
                continue;
            }

            builder.Append(text[++i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                '"' when allowQuote => '"',
                var other => throw new FormatException($"bad escape \\{other}"),
            });
        }

        return builder.ToString();
    }

    private static bool IsMetricName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    private static bool IsLabelName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && !name.StartsWith("__", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
