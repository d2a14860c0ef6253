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
    private readonly Lock _gate = new();
    private readonly Queue<SpanRecord> _spans = new();
    private readonly Dictionary<string, List<SpanRecord>> _traces = new(StringComparer.Ordinal);
    private readonly Queue<LogRecordView> _logs = new();
    private readonly Dictionary<string, (MetricSeries Series, Queue<MetricPoint> Points)> _series = new(StringComparer.Ordinal);

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
                var resource = ServiceName(resourceSpans.Resource?.Attributes);
                foreach (var span in resourceSpans.ScopeSpans.SelectMany(s => s.Spans))
                {
                    var record = new SpanRecord(
                        Hex(span.TraceId), Hex(span.SpanId), span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId), span.Name, resource,
                        span.Kind.ToString().Replace("SpanKind", "", StringComparison.Ordinal), Time(span.StartTimeUnixNano), Time(span.EndTimeUnixNano),
                        span.Status?.Code == OtlpTrace.Status.Types.StatusCode.Error, NullIfEmpty(span.Status?.Message), Attributes(span.Attributes));
                    _spans.Enqueue(record);
                    if (!_traces.TryGetValue(record.TraceId, out var trace))
                    {
                        _traces[record.TraceId] = trace = [];
                    }

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
                var resource = ServiceName(resourceLogs.Resource?.Attributes);
                foreach (var scope in resourceLogs.ScopeLogs)
                {
                    foreach (var log in scope.LogRecords)
                    {
                        _logs.Enqueue(new LogRecordView(
                            Time(log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano), resource, Level(log), Text(log.Body),
                            NullIfEmpty(scope.Scope?.Name), log.TraceId.IsEmpty ? null : Hex(log.TraceId), log.SpanId.IsEmpty ? null : Hex(log.SpanId),
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
                var resource = ServiceName(resourceMetrics.Resource?.Attributes);
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
                            // The chart of a histogram is its mean over the exported window.
                            foreach (var point in metric.Histogram.DataPoints)
                            {
                                AddPoint(resource, metric, "histogram", point.Attributes, point.TimeUnixNano, point.Count == 0 ? 0 : point.Sum / point.Count);
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

    private void AddPoint(string resource, OtlpMetrics.Metric metric, string kind, IEnumerable<KeyValue> attributes, ulong timeUnixNano, double value)
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

            _series[key] = series = (new MetricSeries(resource, metric.Name, metric.Unit, kind, labels, []), new Queue<MetricPoint>());
        }

        series.Points.Enqueue(new MetricPoint(Time(timeUnixNano), value));
        while (series.Points.Count > limits.MaxPointsPerSeries)
        {
            series.Points.Dequeue();
        }
    }

    private static string ServiceName(IEnumerable<KeyValue>? attributes) =>
        attributes?.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue is { Length: > 0 } name ? name : "unknown";

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes) =>
        attributes.GroupBy(a => a.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => Text(g.Last().Value), StringComparer.Ordinal);

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
