using System.Globalization;
using System.Text;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>How an instrument's measurements become a series' value.</summary>
internal enum Aggregation
{
    /// <summary><c>Counter</c>, <c>UpDownCounter</c>: measurements are increments, summed.</summary>
    Sum,

    /// <summary><c>Gauge</c>: the last measurement is the value.</summary>
    LastValue,

    /// <summary>
    /// Observable instruments: each scrape asks their callbacks for the current values (cumulative totals for an
    /// <c>ObservableCounter</c>); a series not reported by the latest scrape is left out, and forgotten later.
    /// </summary>
    Observed,

    /// <summary><c>Histogram</c>: bucket counts, sum and count.</summary>
    Histogram,
}

/// <summary>
/// One Prometheus metric (HELP, TYPE and its series), fed by one or more instruments that map to the same name. Its
/// series are bounded by a <see cref="SeriesTable{TSeries}"/>.
/// </summary>
internal abstract class MetricFamily(string name, PrometheusType type, Aggregation aggregation, string? help)
{
    private int _instruments;

    public string Name => name;

    public PrometheusType Type => type;

    public Aggregation Aggregation => aggregation;

    public string? Help => help;

    public LabelNames LabelNames { get; } = new();

    public abstract long Dropped { get; }

    /// <summary>Instruments feeding this family (it is removed when the last one is gone).</summary>
    public int AddInstrument() => Interlocked.Increment(ref _instruments);

    public int RemoveInstrument() => Interlocked.Decrement(ref _instruments);

    /// <summary>
    /// Records one measurement (already scaled). True when it was the first one dropped because the family has no room
    /// for another series (worth one warning).
    /// </summary>
    public abstract bool Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, long epoch);

    /// <summary>Writes HELP, TYPE and the series (nothing when there is no series to write).</summary>
    public abstract void Write(StringBuilder output, long epoch);

    protected void WriteHeader(StringBuilder output)
    {
        if (!string.IsNullOrWhiteSpace(Help))
        {
            output.Append("# HELP ").Append(Name).Append(' ');
            LabelText.AppendEscaped(output, Help, escapeQuotes: false);
            output.Append('\n');
        }

        output.Append("# TYPE ").Append(Name).Append(' ').Append(Type switch
        {
            PrometheusType.Counter => "counter",
            PrometheusType.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');
    }

    protected static void AppendSample(StringBuilder output, string name, string labels, string? extraLabel, double value)
    {
        output.Append(name);
        if (labels.Length > 0 || extraLabel is not null)
        {
            output.Append('{').Append(labels);
            if (extraLabel is not null)
            {
                output.Append(labels.Length > 0 ? "," : string.Empty).Append(extraLabel);
            }

            output.Append('}');
        }

        output.Append(' ');
        AppendNumber(output, value);
        output.Append('\n');
    }

    /// <summary>A sample value or <c>le</c> bound as Prometheus parses it: shortest round-trip text, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static void AppendNumber(StringBuilder output, double value)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (double.IsNaN(value))
        {
            output.Append("NaN");
        }
        else if (double.IsPositiveInfinity(value))
        {
            output.Append("+Inf");
        }
        else if (double.IsNegativeInfinity(value))
        {
            output.Append("-Inf");
        }
        else
        {
            output.Append(value.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Adds to a double shared between threads.</summary>
    protected static void AddDouble(ref double target, double value)
    {
        var current = Volatile.Read(ref target);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>Counters and gauges: one number per series.</summary>
internal sealed class ValueFamily(string name, PrometheusType type, Aggregation aggregation, string? help, int capacity)
    : MetricFamily(name, type, aggregation, help)
{
    /// <summary>An observed series not reported for this many scrapes is removed.</summary>
    private const long ForgetAfterScrapes = 5;

    private static readonly Func<ValueSeries> s_create = static () => new ValueSeries();

    private readonly SeriesTable<ValueSeries> _series = new(capacity);

    public override long Dropped => _series.Dropped;

    internal SeriesTable<ValueSeries> Series => _series;

    public override bool Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, long epoch)
    {
        if (!double.IsFinite(value) || (Aggregation == Aggregation.Sum && Type == PrometheusType.Counter && value < 0))
        {
            return false; // a counter only goes up; NaN and infinities say nothing
        }

        var series = _series.GetOrAdd(LabelText.Render(tags, LabelNames), s_create, out var firstDrop);
        if (series is null)
        {
            return firstDrop;
        }

        switch (Aggregation)
        {
            case Aggregation.Sum:
                AddDouble(ref series.Value, value);
                break;
            case Aggregation.Observed:
                Volatile.Write(ref series.Value, value);
                Volatile.Write(ref series.Epoch, epoch);
                break;
            default:
                Volatile.Write(ref series.Value, value);
                break;
        }

        return false;
    }

    public override void Write(StringBuilder output, long epoch)
    {
        var series = _series.Snapshot();
        var headerWritten = false;
        foreach (var (labels, value) in series)
        {
            if (Aggregation == Aggregation.Observed && Volatile.Read(ref value.Epoch) != epoch)
            {
                if (epoch - Volatile.Read(ref value.Epoch) >= ForgetAfterScrapes)
                {
                    _series.Remove(labels);
                }

                continue;
            }

            if (!headerWritten)
            {
                WriteHeader(output);
                headerWritten = true;
            }

            AppendSample(output, Name, labels, null, Volatile.Read(ref value.Value));
        }
    }

    internal sealed class ValueSeries
    {
#pragma warning disable CA1051 // shared with Interlocked/Volatile, which need the field itself
        public double Value;
        public long Epoch;
#pragma warning restore CA1051
    }
}

/// <summary>Histograms with explicit bucket bounds: cumulative <c>_bucket{le}</c>, <c>_sum</c>, <c>_count</c>.</summary>
internal sealed class HistogramFamily : MetricFamily
{
    private readonly double[] _bounds;
    private readonly string[] _le;
    private readonly Func<HistogramSeries> _create;
    private readonly SeriesTable<HistogramSeries> _series;
    private readonly string _bucketName;
    private readonly string _sumName;
    private readonly string _countName;

    public HistogramFamily(string name, string? help, IReadOnlyList<double> bounds, int capacity)
        : base(name, PrometheusType.Histogram, Aggregation.Histogram, help)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        _bounds = [.. bounds.Where(double.IsFinite).Distinct().Order()];
        _le = [.. _bounds.Select(bound => "le=\"" + Number(bound) + "\""), "le=\"+Inf\""];
        var buckets = _bounds.Length + 1;
        _create = () => new HistogramSeries(buckets);
        _series = new SeriesTable<HistogramSeries>(capacity);
        _bucketName = name + "_bucket";
        _sumName = name + "_sum";
        _countName = name + "_count";
    }

    public IReadOnlyList<double> Bounds => _bounds;

    public override long Dropped => _series.Dropped;

    public override bool Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, long epoch)
    {
        if (!double.IsFinite(value))
        {
            return false;
        }

        var series = _series.GetOrAdd(LabelText.Render(tags, LabelNames), _create, out var firstDrop);
        if (series is null)
        {
            return firstDrop;
        }

        // Prometheus buckets are "less than or equal": the first bound the value does not exceed.
        var bounds = _bounds;
        var index = 0;
        while (index < bounds.Length && value > bounds[index])
        {
            index++;
        }

        Interlocked.Increment(ref series.Counts[index]);
        AddDouble(ref series.Sum, value);
        return false;
    }

    public override void Write(StringBuilder output, long epoch)
    {
        var series = _series.Snapshot();
        if (series.Count == 0)
        {
            return;
        }

        WriteHeader(output);
        foreach (var (labels, histogram) in series)
        {
            long cumulative = 0;
            for (var i = 0; i < histogram.Counts.Length; i++)
            {
                cumulative += Interlocked.Read(ref histogram.Counts[i]);
                AppendSample(output, _bucketName, labels, _le[i], cumulative);
            }

            AppendSample(output, _sumName, labels, null, Volatile.Read(ref histogram.Sum));
            AppendSample(output, _countName, labels, null, cumulative);
        }
    }

    private static string Number(double value)
    {
        var text = new StringBuilder();
        AppendNumber(text, value);
        return text.ToString();
    }

    internal sealed class HistogramSeries(int buckets)
    {
#pragma warning disable CA1051 // shared with Interlocked/Volatile, which need the fields themselves
        public readonly long[] Counts = new long[buckets];
        public double Sum;
#pragma warning restore CA1051
    }
}
