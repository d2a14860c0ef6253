using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>
/// The service's metrics in Prometheus' text exposition format 0.0.4, for <c>GET /metrics</c>.
/// <para>
/// Written by hand on <see cref="MeterListener"/> because OpenTelemetry's Prometheus exporters
/// (OpenTelemetry.Exporter.Prometheus.AspNetCore / .HttpListener) are not in the package registry SmartHub builds from
/// (see ENVIRONMENT.md). It does not go through the OpenTelemetry SDK's <c>MeterProvider</c> either: that provider is
/// built only when an OTLP endpoint is configured (nothing else would export what it collects), while <c>/metrics</c>
/// must answer without one; a listener of its own costs one lookup by label text per measurement and keeps memory
/// bounded the same way for every instrument.
/// </para>
/// <list type="bullet">
/// <item>Meters: the same list as the OTLP setup (<see cref="Telemetry.TelemetryNames.Meters"/>: ASP.NET Core hosting,
/// Kestrel, routing, diagnostics, HttpClient, the runtime, Npgsql and every <c>SmartHub.*</c> meter). Meters created by
/// another host's <see cref="IMeterFactory"/> in the same process are left out.</item>
/// <item>Names and units: <see cref="PrometheusNames"/> (<c>http.server.request.duration</c> in s →
/// <c>http_server_request_duration_seconds</c>; ms → seconds).</item>
/// <item>Counters → <c>counter</c> (<c>_total</c>); up/down counters and gauges → <c>gauge</c>; histograms →
/// <c>histogram</c> with <see cref="DurationBuckets"/> for every duration (so SLA thresholds 0.5, 1, 2 and 5 s are
/// bucket bounds), else the instrument's advice, else <see cref="DefaultBuckets"/>.</item>
/// <item>Memory: at most <see cref="MetricsOptions.MaxSeriesPerMetric"/> label combinations per metric; measurements
/// with further ones are dropped, counted in <c>smarthub_metrics_dropped_measurements_total{metric}</c> and logged once.</item>
/// </list>
/// </summary>
public sealed class PrometheusMetricsCollector : IDisposable
{
    /// <summary>The content type of the exposition.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Counts measurements lost to the series cap, per metric.</summary>
    public const string DroppedMetricName = "smarthub_metrics_dropped_measurements_total";

    /// <summary>
    /// Buckets (seconds) of every duration histogram: HTTP request and provider latencies from 5 ms to a minute, with the
    /// SLA thresholds (0.5 s critical, 1 s high, 2 s medium, 5 s low) as bounds so quantiles near them are exact.
    /// </summary>
    public static IReadOnlyList<double> DurationBuckets { get; } = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2, 2.5, 5, 7.5, 10, 30, 60];

    /// <summary>OpenTelemetry's default explicit buckets, for histograms that are not durations and give no advice.</summary>
    public static IReadOnlyList<double> DefaultBuckets { get; } = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);
    private readonly Lock _bindLock = new();
    private readonly Lock _collectLock = new();
    private readonly IReadOnlyList<string> _meters;
    private readonly object? _scope;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private long _epoch;
    private int _started;

    /// <param name="maxSeriesPerMetric">Label combinations kept per metric.</param>
    /// <param name="meters">Meter names to listen to; a name ending in <c>.*</c> is a prefix.</param>
    /// <param name="meterFactory">The host's factory: meters of other factories in the process are ignored (null: none are).</param>
    /// <param name="logger">Warnings about dropped series and clashing instruments.</param>
    public PrometheusMetricsCollector(int maxSeriesPerMetric, IEnumerable<string> meters, IMeterFactory? meterFactory = null, ILogger<PrometheusMetricsCollector>? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSeriesPerMetric);
        ArgumentNullException.ThrowIfNull(meters);
        _capacity = maxSeriesPerMetric;
        _meters = [.. meters];
        _scope = meterFactory;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => Record(state, (double)value, tags));
    }

    /// <summary>Starts listening (instruments that exist already are picked up too). Idempotent.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _listener.Start();
        }
    }

    /// <summary>
    /// Reads the observable instruments and writes every metric, sorted by name, as the text exposition. Scrapes run one
    /// at a time (observable callbacks are not meant to run concurrently).
    /// </summary>
    public string Collect()
    {
        lock (_collectLock)
        {
            var epoch = Interlocked.Increment(ref _epoch);
            _listener.RecordObservableInstruments();

            var output = new StringBuilder(64 * 1024);
            var families = _families.Values.OrderBy(family => family.Name, StringComparer.Ordinal).ToList();
            foreach (var family in families)
            {
                family.Write(output, epoch);
            }

            WriteDropped(output, families);
            return output.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private static void Record(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (state is Binding binding)
        {
            binding.Record(value, tags);
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!Subscribes(instrument.Meter))
        {
            return;
        }

        if (Bind(instrument) is { } binding)
        {
            listener.EnableMeasurementEvents(instrument, binding);
        }
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is not Binding binding)
        {
            return;
        }

        lock (_bindLock)
        {
            if (binding.Family.RemoveInstrument() == 0)
            {
                _families.TryRemove(new KeyValuePair<string, MetricFamily>(binding.Family.Name, binding.Family));
            }
        }
    }

    private bool Subscribes(Meter meter)
    {
        if (_scope is not null && meter.Scope is not null && !ReferenceEquals(meter.Scope, _scope))
        {
            return false; // another host's meter (tests run several hosts in one process)
        }

        foreach (var name in _meters)
        {
            var matches = name.EndsWith(".*", StringComparison.Ordinal)
                ? meter.Name.StartsWith(name[..^1], StringComparison.Ordinal)
                : string.Equals(meter.Name, name, StringComparison.Ordinal);
            if (matches)
            {
                return true;
            }
        }

        return false;
    }

    private Binding? Bind(Instrument instrument)
    {
        var metric = PrometheusNames.For(instrument);
        var aggregation = AggregationOf(instrument);
        lock (_bindLock)
        {
            var family = _families.GetOrAdd(metric.Name, name => metric.Type == PrometheusType.Histogram
                ? new HistogramFamily(name, instrument.Description, BucketsOf(instrument), _capacity)
                : new ValueFamily(name, metric.Type, aggregation, instrument.Description, _capacity));
            if (family.Type != metric.Type || family.Aggregation != aggregation)
            {
                _logger.LogWarning(
                    "Instrument {Instrument} of meter {Meter} is not exported: its Prometheus name {Metric} is taken by another kind of instrument.",
                    instrument.Name, instrument.Meter.Name, metric.Name);
                return null;
            }

            family.AddInstrument();
            return new Binding(this, family, metric.Divisor);
        }
    }

    private static Aggregation AggregationOf(Instrument instrument)
    {
        if (instrument.IsObservable)
        {
            return Aggregation.Observed;
        }

        var definition = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : null;
        if (definition == typeof(Histogram<>))
        {
            return Aggregation.Histogram;
        }

        return definition == typeof(Gauge<>) ? Aggregation.LastValue : Aggregation.Sum;
    }

    private static IReadOnlyList<double> BucketsOf(Instrument instrument)
    {
        if (PrometheusNames.BaseUnit(instrument.Unit).Unit == "s")
        {
            return DurationBuckets;
        }

        IReadOnlyList<double>? advice = instrument switch
        {
            Histogram<double> histogram => histogram.Advice?.HistogramBucketBoundaries,
            Histogram<float> histogram => histogram.Advice?.HistogramBucketBoundaries?.Select(bound => (double)bound).ToList(),
            Histogram<long> histogram => histogram.Advice?.HistogramBucketBoundaries?.Select(bound => (double)bound).ToList(),
            Histogram<int> histogram => histogram.Advice?.HistogramBucketBoundaries?.Select(bound => (double)bound).ToList(),
            _ => null,
        };
        return advice is { Count: > 0 } ? advice : DefaultBuckets;
    }

    private void WarnFull(MetricFamily family) =>
        _logger.LogWarning(
            "Metric {Metric} has {Capacity} label combinations (Metrics:MaxSeriesPerMetric): measurements with new ones are dropped and counted in {Dropped}. A tag with unbounded values?",
            family.Name, _capacity, DroppedMetricName);

    private static void WriteDropped(StringBuilder output, List<MetricFamily> families)
    {
        var headerWritten = false;
        foreach (var family in families)
        {
            var dropped = family.Dropped;
            if (dropped == 0)
            {
                continue;
            }

            if (!headerWritten)
            {
                output.Append("# HELP ").Append(DroppedMetricName)
                    .Append(" Measurements dropped because their metric had reached its limit of label combinations.\n")
                    .Append("# TYPE ").Append(DroppedMetricName).Append(" counter\n");
                headerWritten = true;
            }

            output.Append(DroppedMetricName).Append("{metric=\"").Append(family.Name).Append("\"} ").Append(dropped).Append('\n');
        }
    }

    /// <summary>What the listener keeps per instrument: its family and the divisor to seconds.</summary>
    private sealed class Binding(PrometheusMetricsCollector owner, MetricFamily family, double divisor)
    {
        public MetricFamily Family => family;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (family.Record(divisor == 1 ? value : value / divisor, tags, Volatile.Read(ref owner._epoch)))
            {
                owner.WarnFull(family);
            }
        }
    }
}
