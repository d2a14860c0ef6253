using System.ComponentModel.DataAnnotations;
using Google.Protobuf;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Metrics;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;
using SmartHub.AppHost.Telemetry.Otlp.Common;
using OtlpLogs = SmartHub.AppHost.Telemetry.Otlp.Logs;
using OtlpMetrics = SmartHub.AppHost.Telemetry.Otlp.Metrics;
using OtlpTrace = SmartHub.AppHost.Telemetry.Otlp.Trace;

namespace SmartHub.Hosting.Telemetry;

/// <summary>How much telemetry the AppHost holds (section <c>Dashboard:Telemetry</c>): every buffer is bounded.</summary>
public sealed class TelemetryLimits
{
    [Range(100, 10_000_000)]
    public int MaxSpans { get; set; } = 100_000;

    [Range(100, 10_000_000)]
    public int MaxLogs { get; set; } = 100_000;

    /// <summary>Points kept per metric series (resource, instrument and attributes); older ones are dropped.</summary>
    [Range(10, 100_000)]
    public int MaxPointsPerSeries { get; set; } = 720;

    /// <summary>Series kept in all; a new series beyond it is dropped (and counted).</summary>
    [Range(10, 1_000_000)]
    public int MaxSeries { get; set; } = 10_000;
}

public sealed record SpanRecord(
    string TraceId, string SpanId, string? ParentSpanId, string Name, string Resource, string Kind, DateTimeOffset Start, DateTimeOffset End,
    bool IsError, string? StatusMessage, IReadOnlyDictionary<string, string> Attributes)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>One trace as the traces list shows it: its root (or earliest) span's name, the resources it touched.</summary>
public sealed record TraceSummary(
    string TraceId, string Name, DateTimeOffset Start, TimeSpan Duration, int SpanCount, int ErrorCount, IReadOnlyList<string> Resources);

/// <summary>An instrument a resource reports, with how many series (attribute sets) it has.</summary>
public sealed record InstrumentSummary(string Resource, string Name, string Unit, string Kind, int SeriesCount);

public sealed record LogRecordView(
    DateTimeOffset Time, string Resource, string Level, string Message, string? Category, string? TraceId, string? SpanId, IReadOnlyDictionary<string, string> Attributes);

public sealed record MetricPoint(DateTimeOffset Time, double Value);

public sealed record MetricSeries(string Resource, string Name, string Unit, string Kind, IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<MetricPoint> Points);

/// <summary>
/// The telemetry the services send the AppHost over OTLP, held in bounded in-memory buffers (<see cref="TelemetryLimits"/>)
/// so that memory stays flat however long the AppHost runs: the oldest spans and logs leave first; each metric series
/// keeps its latest points. Thread-safe: OTLP requests add while the dashboard reads.
/// </summary>
public sealed class TelemetryStore(TelemetryLimits limits)
{
    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
    private static readonly string[] SpanKinds = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
    private readonly Lock _gate = new();
    private readonly StringPool _strings = new(50_000);
    private readonly HashSet<string> _resources = new(StringComparer.Ordinal);
    private readonly Queue<SpanRecord> _spans = new();
    private readonly Dictionary<string, List<SpanRecord>> _traces = new(StringComparer.Ordinal);
    private readonly Queue<LogRecordView> _logs = new();
    private readonly Dictionary<string, SeriesBuffer> _series = new(StringComparer.Ordinal);

    /// <summary>Metric series refused because <see cref="TelemetryLimits.MaxSeries"/> was reached.</summary>
    public long DroppedSeries { get; private set; }

    public int SpanCount
    {
        get
        {
            lock (_gate)
            {
                return _spans.Count;
            }
        }
    }

    public void Add(ExportTraceServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceSpans in request.ResourceSpans)
            {
                var resource = ResourceName(resourceSpans.Resource?.Attributes);
                foreach (var span in resourceSpans.ScopeSpans.SelectMany(s => s.Spans))
                {
                    var traceId = Hex(span.TraceId);
                    if (!_traces.TryGetValue(traceId, out var trace))
                    {
                        _traces[traceId] = trace = [];
                    }
                    else
                    {
                        // The spans of a trace share one id string.
                        traceId = trace[0].TraceId;
                    }

                    var record = new SpanRecord(
                        traceId, Hex(span.SpanId), span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId), _strings.Get(span.Name), resource,
                        SpanKinds[(int)span.Kind is >= 0 and < 6 ? (int)span.Kind : 0], Time(span.StartTimeUnixNano), Time(span.EndTimeUnixNano),
                        span.Status?.Code == OtlpTrace.Status.Types.StatusCode.Error, NullIfEmpty(span.Status?.Message), Attributes(span.Attributes));
                    _spans.Enqueue(record);

                    trace.Add(record);
                    while (_spans.Count > limits.MaxSpans)
                    {
                        var old = _spans.Dequeue();
                        if (_traces.TryGetValue(old.TraceId, out var oldTrace) && oldTrace.Remove(old) && oldTrace.Count == 0)
                        {
                            _traces.Remove(old.TraceId);
                        }
                    }
                }
            }
        }
    }

    public void Add(ExportLogsServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceLogs in request.ResourceLogs)
            {
                var resource = ResourceName(resourceLogs.Resource?.Attributes);
                foreach (var scope in resourceLogs.ScopeLogs)
                {
                    foreach (var log in scope.LogRecords)
                    {
                        _logs.Enqueue(new LogRecordView(
                            Time(log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano), resource, Level(log), Text(log.Body),
                            scope.Scope?.Name is { Length: > 0 } category ? _strings.Get(category) : null, log.TraceId.IsEmpty ? null : Hex(log.TraceId), log.SpanId.IsEmpty ? null : Hex(log.SpanId),
                            Attributes(log.Attributes)));
                        while (_logs.Count > limits.MaxLogs)
                        {
                            _logs.Dequeue();
                        }
                    }
                }
            }
        }
    }

    public void Add(ExportMetricsServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceMetrics in request.ResourceMetrics)
            {
                var resource = ResourceName(resourceMetrics.Resource?.Attributes);
                foreach (var metric in resourceMetrics.ScopeMetrics.SelectMany(s => s.Metrics))
                {
                    switch (metric.DataCase)
                    {
                        case OtlpMetrics.Metric.DataOneofCase.Gauge:
                            foreach (var point in metric.Gauge.DataPoints)
                            {
                                AddPoint(resource, metric, "gauge", point.Attributes, point.TimeUnixNano, point.HasAsDouble ? point.AsDouble : point.AsInt);
                            }

                            break;
                        case OtlpMetrics.Metric.DataOneofCase.Sum:
                            foreach (var point in metric.Sum.DataPoints)
                            {
                                AddPoint(resource, metric, "sum", point.Attributes, point.TimeUnixNano, point.HasAsDouble ? point.AsDouble : point.AsInt);
                            }

                            break;
                        case OtlpMetrics.Metric.DataOneofCase.Histogram:
                            // The chart of a histogram is its mean over each export interval: cumulative points (the SDK's
                            // default) are turned into the difference from the previous one.
                            var cumulative = metric.Histogram.AggregationTemporality == OtlpMetrics.AggregationTemporality.Cumulative;
                            foreach (var point in metric.Histogram.DataPoints)
                            {
                                AddPoint(resource, metric, "histogram", point.Attributes, point.TimeUnixNano, 0, (point.Count, point.Sum, cumulative));
                            }

                            break;
                    }
                }
            }
        }
    }

    public IReadOnlyList<SpanRecord> Trace(string traceId)
    {
        lock (_gate)
        {
            return _traces.TryGetValue(traceId, out var spans) ? [.. spans.OrderBy(s => s.Start)] : [];
        }
    }

    /// <summary>Traces, newest first: each trace's spans (a trace still arriving shows what came so far).</summary>
    public IReadOnlyList<IReadOnlyList<SpanRecord>> Traces(int limit)
    {
        lock (_gate)
        {
            return [.. _traces.Values.OrderByDescending(t => t.Max(s => s.End)).Take(limit).Select(t => (IReadOnlyList<SpanRecord>)[.. t.OrderBy(s => s.Start)])];
        }
    }

    /// <summary>
    /// Traces newest first (by start), each summarised; only those that touched <paramref name="resource"/> and whose
    /// span names contain <paramref name="text"/> when given. <c>Matched</c> counts every match, not just those returned.
    /// </summary>
    public (IReadOnlyList<TraceSummary> Traces, int Matched) TraceSummaries(string? resource, string? text, int limit)
    {
        var summaries = new List<TraceSummary>();
        lock (_gate)
        {
            foreach (var spans in _traces.Values)
            {
                if ((resource is null || spans.Exists(s => s.Resource == resource))
                    && (string.IsNullOrEmpty(text) || spans.Exists(s => s.Name.Contains(text, StringComparison.OrdinalIgnoreCase))))
                {
                    summaries.Add(Summarise(spans));
                }
            }
        }

        summaries.Sort((a, b) => b.Start.CompareTo(a.Start));
        return (summaries.Count > limit ? summaries[..limit] : summaries, summaries.Count);
    }

    private static TraceSummary Summarise(List<SpanRecord> spans)
    {
        var start = DateTimeOffset.MaxValue;
        var end = DateTimeOffset.MinValue;
        var errors = 0;
        SpanRecord? root = null;
        var ids = new HashSet<string>(spans.Count, StringComparer.Ordinal);
        foreach (var span in spans)
        {
            ids.Add(span.SpanId);
        }

        foreach (var span in spans)
        {
            start = span.Start < start ? span.Start : start;
            end = span.End > end ? span.End : end;
            errors += span.IsError ? 1 : 0;
            // The root: no parent, or a parent not held (it left the buffer or never came); the earliest such span.
            if ((span.ParentSpanId is null || !ids.Contains(span.ParentSpanId)) && (root is null || span.Start < root.Start))
            {
                root = span;
            }
        }

        return new TraceSummary(spans[0].TraceId, root?.Name ?? spans[0].Name, start, end - start, spans.Count, errors,
            [.. spans.Select(s => s.Resource).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
    }

    /// <summary>Every resource that has sent telemetry, by name.</summary>
    public IReadOnlyList<string> Resources()
    {
        lock (_gate)
        {
            return [.. _resources.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The instruments of a resource (every resource when null), by name.</summary>
    public IReadOnlyList<InstrumentSummary> Instruments(string? resource)
    {
        lock (_gate)
        {
            return [.. _series.Values
                .Where(s => resource is null || s.Series.Resource == resource)
                .GroupBy(s => (s.Series.Resource, s.Series.Name))
                .Select(g => new InstrumentSummary(g.Key.Resource, g.Key.Name, g.First().Series.Unit, g.First().Series.Kind, g.Count()))
                .OrderBy(i => i.Resource, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal)];
        }
    }

    public IReadOnlyList<LogRecordView> Logs(Func<LogRecordView, bool> filter, int limit)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            return [.. _logs.Reverse().Where(filter).Take(limit)];
        }
    }

    public IReadOnlyList<MetricSeries> Metrics(string? resource = null, string? name = null)
    {
        lock (_gate)
        {
            return [.. _series.Values
                .Where(s => (resource is null || s.Series.Resource == resource) && (name is null || s.Series.Name == name))
                .Select(s => s.Series with { Points = [.. s.Points] })];
        }
    }

    private void AddPoint(
        string resource, OtlpMetrics.Metric metric, string kind, IEnumerable<KeyValue> attributes, ulong timeUnixNano, double value,
        (ulong Count, double Sum, bool Cumulative)? histogram = null)
    {
        var labels = Attributes(attributes);
        var key = $"{resource}\n{metric.Name}\n{string.Join('\n', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value))}";
        if (!_series.TryGetValue(key, out var series))
        {
            if (_series.Count >= limits.MaxSeries)
            {
                DroppedSeries++;
                return;
            }

            _series[key] = series = new SeriesBuffer(new MetricSeries(resource, _strings.Get(metric.Name), _strings.Get(metric.Unit), kind, labels, []));
        }

        if (histogram is var (count, sum, cumulative))
        {
            var (windowCount, windowSum) = cumulative && count >= series.LastCount ? (count - series.LastCount, sum - series.LastSum) : (count, sum);
            (series.LastCount, series.LastSum) = (count, sum);
            if (windowCount == 0)
            {
                // Nothing measured in this interval: no point (a mean of nothing is not zero).
                return;
            }

            value = windowSum / windowCount;
        }

        series.Points.Enqueue(new MetricPoint(Time(timeUnixNano), value));
        while (series.Points.Count > limits.MaxPointsPerSeries)
        {
            series.Points.Dequeue();
        }
    }

    /// <summary>
    /// The AppHost resource that sent it: <c>service.instance.id</c> is <c>{resource}-{32 hex}</c> for the projects it
    /// starts (replicas share <c>service.name</c>: gateway-2 is an instance of gateway); else <c>service.name</c>.
    /// </summary>
    private string ResourceName(IEnumerable<KeyValue>? attributes)
    {
        string? service = null, instance = null;
        foreach (var attribute in attributes ?? [])
        {
            switch (attribute.Key)
            {
                case "service.name":
                    service = attribute.Value?.StringValue;
                    break;
                case "service.instance.id":
                    instance = attribute.Value?.StringValue;
                    break;
            }
        }

        if (instance is { Length: > 33 } && instance[^33] == '-' && !instance.AsSpan(instance.Length - 32).ContainsAnyExcept(LowerHex))
        {
            return Seen(_strings.Get(instance[..^33]));
        }

        return Seen(string.IsNullOrEmpty(service) ? "unknown" : _strings.Get(service));
    }

    private string Seen(string resource)
    {
        _resources.Add(resource);
        return resource;
    }

    private CompactAttributes Attributes(IEnumerable<KeyValue> attributes)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var attribute in attributes)
        {
            var value = Text(attribute.Value);
            pairs.RemoveAll(p => p.Key == attribute.Key);
            pairs.Add(new(_strings.Get(attribute.Key), value.Length <= 64 ? _strings.Get(value) : value));
        }

        return new CompactAttributes([.. pairs]);
    }

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => kv.Key + ": " + Text(kv.Value))) + "}",
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.ToByteArray()),
        _ => "",
    };

    private static string Level(OtlpLogs.LogRecord log) => log.SeverityNumber switch
    {
        >= OtlpLogs.SeverityNumber.Fatal => "Critical",
        >= OtlpLogs.SeverityNumber.Error => "Error",
        >= OtlpLogs.SeverityNumber.Warn => "Warning",
        >= OtlpLogs.SeverityNumber.Info => "Information",
        >= OtlpLogs.SeverityNumber.Debug => "Debug",
        >= OtlpLogs.SeverityNumber.Trace => "Trace",
        _ => string.IsNullOrEmpty(log.SeverityText) ? "Information" : log.SeverityText,
    };

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static DateTimeOffset Time(ulong unixNano) => DateTimeOffset.UnixEpoch.AddTicks((long)(unixNano / 100));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>One metric series held: its latest points, and for a cumulative histogram its last count and sum.</summary>
internal sealed class SeriesBuffer(MetricSeries series)
{
    public MetricSeries Series { get; } = series;
    public Queue<MetricPoint> Points { get; } = new();
    public ulong LastCount { get; set; }
    public double LastSum { get; set; }
}

/// <summary>Attributes as one small array (a span holds about ten): far less memory than a dictionary per span.</summary>
internal sealed class CompactAttributes(KeyValuePair<string, string>[] pairs) : IReadOnlyDictionary<string, string>
{
    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No attribute '{key}'.");

    public IEnumerable<string> Keys => pairs.Select(p => p.Key);
    public IEnumerable<string> Values => pairs.Select(p => p.Value);
    public int Count => pairs.Length;

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
    {
        foreach (var pair in pairs)
        {
            if (pair.Key == key)
            {
                value = pair.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)pairs).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// One instance per distinct short string (attribute names, span names, resource names, common values), so that a
/// hundred thousand spans do not hold a hundred thousand copies of "http.request.method". Bounded: once full, strings
/// are kept as they come.
/// </summary>
internal sealed class StringPool(int capacity)
{
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);

    /// <summary>Not thread-safe: the store calls it under its lock.</summary>
    public string Get(string value)
    {
        if (_pool.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        if (_pool.Count < capacity)
        {
            _pool[value] = value;
        }

        return value;
    }
}
