using System.Diagnostics.Metrics;
using System.Text;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>The Prometheus shape of an instrument: metric type, name, and what its measurements are divided by (ms → s: 1000).</summary>
internal readonly record struct PrometheusMetric(string Name, PrometheusType Type, double Divisor);

internal enum PrometheusType
{
    /// <summary>Monotonic sum (<c>Counter</c>, <c>ObservableCounter</c>): <c>_total</c>.</summary>
    Counter,

    /// <summary>Current value (<c>UpDownCounter</c>, <c>Gauge</c> and the observable ones).</summary>
    Gauge,

    /// <summary><c>Histogram</c>: <c>_bucket{le}</c>, <c>_sum</c>, <c>_count</c>.</summary>
    Histogram,
}

/// <summary>
/// OpenTelemetry → Prometheus naming, after the OpenTelemetry specification's "Prometheus and OpenMetrics
/// compatibility" (what OpenTelemetry.Exporter.Prometheus does): characters outside <c>[a-zA-Z0-9_:]</c> become
/// <c>_</c> (so dots do), runs of <c>_</c> collapse, the unit becomes a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> →
/// <c>_bytes</c>, <c>{request}</c> → nothing, <c>1</c> → <c>_ratio</c> on gauges, <c>By/s</c> →
/// <c>_bytes_per_second</c>) unless the name already ends with it, and counters end in <c>_total</c>.
/// Durations in ms, us or ns are converted to seconds (Prometheus' base unit), so every duration histogram shares the
/// same second-based buckets.
/// </summary>
internal static class PrometheusNames
{
    /// <summary>
    /// The runtime (.NET 9 and 10) publishes these as <c>ObservableCounter</c> although they go up and down (its own
    /// documentation of the built-in metrics calls them up/down counters): gauges, or <c>rate()</c> would misread them.
    /// </summary>
    private static readonly HashSet<string> RuntimeGauges = new(StringComparer.Ordinal) { "dotnet.thread_pool.thread.count", "dotnet.thread_pool.queue.length" };

    public static PrometheusMetric For(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var type = TypeOf(instrument);
        var (unit, divisor) = BaseUnit(instrument.Unit);
        return new PrometheusMetric(MetricName(instrument.Name, unit, type), type, divisor);
    }

    public static PrometheusType TypeOf(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        if (instrument.Meter.Name == "System.Runtime" && RuntimeGauges.Contains(instrument.Name))
        {
            return PrometheusType.Gauge;
        }

        var definition = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : instrument.GetType();
        if (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>))
        {
            return PrometheusType.Counter;
        }

        return definition == typeof(Histogram<>) ? PrometheusType.Histogram : PrometheusType.Gauge;
    }

    /// <summary>
    /// The full metric name: sanitized, with the unit suffix and, for counters, <c>_total</c>.
    /// <paramref name="unit"/> is the (already converted) UCUM unit.
    /// </summary>
    public static string MetricName(string name, string? unit, PrometheusType type)
    {
        var result = Sanitize(name, allowColon: true);
        if (char.IsAsciiDigit(result[0]))
        {
            result = "_" + result;
        }

        var suffix = UnitSuffix(unit, type);
        if (suffix.Length > 0 && !result.EndsWith("_" + suffix, StringComparison.Ordinal) && result != suffix)
        {
            result = result + "_" + suffix;
        }

        if (type == PrometheusType.Counter && !result.EndsWith("_total", StringComparison.Ordinal))
        {
            result += "_total";
        }

        return result;
    }

    /// <summary>
    /// A label name: <c>http.route</c> → <c>http_route</c>. A name starting with a digit gets a <c>key_</c> prefix; the
    /// names Prometheus reserves (<c>__x</c>) cannot occur, as runs of <c>_</c> collapse.
    /// </summary>
    public static string LabelName(string key)
    {
        var result = Sanitize(key, allowColon: false);
        return char.IsAsciiDigit(result[0]) ? "key_" + result : result;
    }

    /// <summary>
    /// Durations in sub-second units are reported in seconds (divided, not multiplied: 250 ms is exactly 0.25 s);
    /// everything else as it is.
    /// </summary>
    public static (string? Unit, double Divisor) BaseUnit(string? unit) => unit switch
    {
        "ms" => ("s", 1e3),
        "us" or "μs" => ("s", 1e6),
        "ns" => ("s", 1e9),
        _ => (unit, 1),
    };

    /// <summary>The Prometheus suffix of a UCUM unit ("" for none). Annotations in braces are dropped.</summary>
    public static string UnitSuffix(string? unit, PrometheusType type)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return string.Empty;
        }

        var text = StripAnnotations(unit).Trim();
        if (text.Length == 0)
        {
            return string.Empty;
        }

        if (text == "1")
        {
            return type == PrometheusType.Gauge ? "ratio" : string.Empty;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && slash < text.Length - 1)
        {
            var per = PerUnit(text[(slash + 1)..]);
            var of = Unit(text[..slash]);
            return of.Length == 0 ? "per_" + per : of + "_per_" + per;
        }

        return Unit(text);
    }

    private static string Unit(string unit) => unit switch
    {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" or "μs" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "bit" => "bits",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        "1" => string.Empty,
        _ => Sanitize(unit, allowColon: false).Trim('_'),
    };

    private static string PerUnit(string unit) => unit switch
    {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => Unit(unit),
    };

    private static string StripAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }

        var builder = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Characters outside <c>[a-zA-Z0-9_]</c> (and <c>:</c> in metric names) become <c>_</c>, and runs of <c>_</c>
    /// collapse to one.
    /// </summary>
    private static string Sanitize(string name, bool allowColon)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "_";
        }

        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            var valid = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            var next = valid ? c : '_';
            if (next == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue;
            }

            builder.Append(next);
        }

        return builder.ToString();
    }
}
