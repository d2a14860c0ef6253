using System.ComponentModel.DataAnnotations;
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

/// <summary>
/// One span as held: ids as numbers and times as ticks (about half the memory of their strings and offsets), shown as
/// hex and <see cref="DateTimeOffset"/> when read. A hundred thousand of these are held at the default limits.
/// </summary>
public sealed class SpanRecord
{
    private static readonly string[] SpanKinds = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
    private readonly ulong _spanId;
    private readonly ulong _parentSpanId;
    private readonly long _start;
    private readonly long _end;
    private readonly byte _kind;

    internal SpanRecord(
        TraceEntry trace, ulong spanId, ulong parentSpanId, string name, string resource, int kind, long startTicks, long endTicks,
        bool isError, string? statusMessage, IReadOnlyDictionary<string, string> attributes)
    {
        Trace = trace;
        _spanId = spanId;
        _parentSpanId = parentSpanId;
        Name = name;
        Resource = resource;
        _kind = (byte)(kind is >= 0 and < 6 ? kind : 0);
        _start = startTicks;
        _end = endTicks;
        IsError = isError;
        StatusMessage = statusMessage;
        Attributes = attributes;
    }

    internal TraceEntry Trace { get; }
    internal ulong SpanIdValue => _spanId;
    internal ulong ParentSpanIdValue => _parentSpanId;
    internal long StartTicks => _start;
    internal long EndTicks => _end;

    public string TraceId => Trace.Id;
    public string SpanId => TelemetryIds.Hex(_spanId);

    /// <summary>Null for a root span (no parent id, or an all-zero one, which W3C calls invalid).</summary>
    public string? ParentSpanId => _parentSpanId == 0 ? null : TelemetryIds.Hex(_parentSpanId);

    public string Name { get; }
    public string Resource { get; }
    public string Kind => SpanKinds[_kind];
    public DateTimeOffset Start => new(_start, TimeSpan.Zero);
    public DateTimeOffset End => new(_end, TimeSpan.Zero);
    public bool IsError { get; }
    public string? StatusMessage { get; }
    public IReadOnlyDictionary<string, string> Attributes { get; }
    public TimeSpan Duration => End - Start;
}

/// <summary>
/// The spans held of one trace, its id (one string shared by its spans) and its start, kept as spans come and leave:
/// the traces list compares 20,000 starts per request, and reading them here rather than from every span saves a walk
/// through the whole store's memory.
/// </summary>
internal sealed class TraceEntry(UInt128 key)
{
    private readonly List<SpanRecord> _spans = new(4);

    public UInt128 Key { get; } = key;
    public string Id { get; } = TelemetryIds.Hex(key);
    public IReadOnlyList<SpanRecord> Spans => _spans;
    public long StartTicks { get; private set; } = long.MaxValue;

    public void Add(SpanRecord span)
    {
        _spans.Add(span);
        StartTicks = Math.Min(StartTicks, span.StartTicks);
    }

    /// <summary>Removes a span (the oldest held leaves, usually its trace's first); false when none is left.</summary>
    public bool Remove(SpanRecord span)
    {
        var index = _spans.IndexOf(span);
        if (index >= 0)
        {
            _spans.RemoveAt(index);
            if (span.StartTicks == StartTicks)
            {
                StartTicks = long.MaxValue;
                foreach (var held in _spans)
                {
                    StartTicks = Math.Min(StartTicks, held.StartTicks);
                }
            }
        }

        return _spans.Count > 0;
    }

    public bool Any(Predicate<SpanRecord> match) => _spans.Exists(match);
}

/// <summary>
/// Trace and span ids as numbers (W3C: 16 and 8 bytes, big-endian as the hex reads). Ids of another length, which no
/// SDK sends, are cut or zero-padded to that size.
/// </summary>
internal static class TelemetryIds
{
    public static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static UInt128 TraceKey(ReadOnlySpan<byte> id)
    {
        if (id.Length == 16)
        {
            return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(id);
        }

        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        id[..Math.Min(id.Length, 16)].CopyTo(padded);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(padded);
    }

    public static ulong SpanKey(ReadOnlySpan<byte> id)
    {
        if (id.Length == 8)
        {
            return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(id);
        }

        Span<byte> padded = stackalloc byte[8];
        padded.Clear();
        id[..Math.Min(id.Length, 8)].CopyTo(padded);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(padded);
    }

    /// <summary>A trace id as the pages and links write it (32 lowercase hex digits); false for anything else.</summary>
    public static bool TryParseTraceId(string? text, out UInt128 key)
    {
        key = default;
        return text is { Length: 32 } && !text.AsSpan().ContainsAnyExcept(LowerHex)
            && UInt128.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out key);
    }

    public static string Hex(UInt128 key) => key.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    public static string Hex(ulong key) => key.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One trace as the traces list shows it: its root (or earliest) span's name, the resources it touched.</summary>
public sealed record TraceSummary(
    string TraceId, string Name, DateTimeOffset Start, TimeSpan Duration, int SpanCount, int ErrorCount, IReadOnlyList<string> Resources);

/// <summary>An instrument a resource reports, with how many series (attribute sets) it has.</summary>
public sealed record InstrumentSummary(string Resource, string Name, string Unit, string Kind, int SeriesCount);

/// <summary>One log record as held: its trace and span ids as numbers and its time as ticks, shown as text when read.</summary>
public sealed class LogRecordView
{
    private readonly long _time;
    private readonly UInt128 _traceId;
    private readonly ulong _spanId;
    private readonly bool _hasTraceId;

    internal LogRecordView(
        long timeTicks, string resource, string level, string message, string? category, UInt128? traceId, ulong spanId, IReadOnlyDictionary<string, string> attributes)
    {
        _time = timeTicks;
        Resource = resource;
        Level = level;
        Message = message;
        Category = category;
        (_hasTraceId, _traceId) = traceId is { } id ? (true, id) : (false, default);
        _spanId = spanId;
        Attributes = attributes;
    }

    public DateTimeOffset Time => new(_time, TimeSpan.Zero);
    public string Resource { get; }
    public string Level { get; }
    public string Message { get; }
    public string? Category { get; }
    public string? TraceId => _hasTraceId ? TelemetryIds.Hex(_traceId) : null;
    public string? SpanId => _spanId == 0 ? null : TelemetryIds.Hex(_spanId);
    public IReadOnlyDictionary<string, string> Attributes { get; }

    /// <summary>Whether the record belongs to the trace (compared as numbers: no text per record when filtering).</summary>
    internal bool IsInTrace(UInt128 traceId) => _hasTraceId && _traceId == traceId;
}

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
    private readonly StringPool _strings = new(StringPool.DefaultCapacity);
    private readonly HashSet<string> _resources = new(StringComparer.Ordinal);
    private readonly RingBuffer<SpanRecord> _spans = new(limits.MaxSpans);
    private readonly Dictionary<UInt128, TraceEntry> _traces = [];
    private readonly RingBuffer<LogRecordView> _logs = new(limits.MaxLogs);
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

    public int LogCount
    {
        get
        {
            lock (_gate)
            {
                return _logs.Count;
            }
        }
    }

    public TelemetryLimits Limits => limits;

    public void Add(ExportTraceServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceSpans in request.ResourceSpans)
            {
                var resource = ResourceName(resourceSpans.Resource?.Attributes);
                foreach (var scope in resourceSpans.ScopeSpans)
                {
                    foreach (var span in scope.Spans)
                    {
                        var key = TelemetryIds.TraceKey(span.TraceId.Span);
                        if (!_traces.TryGetValue(key, out var trace))
                        {
                            _traces[key] = trace = new TraceEntry(key);
                        }

                        var record = new SpanRecord(
                            trace, TelemetryIds.SpanKey(span.SpanId.Span), TelemetryIds.SpanKey(span.ParentSpanId.Span), _strings.Get(span.Name), resource,
                            (int)span.Kind, Ticks(span.StartTimeUnixNano), Ticks(span.EndTimeUnixNano),
                            span.Status?.Code == OtlpTrace.Status.Types.StatusCode.Error, NullIfEmpty(span.Status?.Message), Attributes(span.Attributes));
                        trace.Add(record);
                        // The oldest span leaves once the buffer is full; its trace with it when it was the last.
                        if (_spans.Add(record) is { } old && !old.Trace.Remove(old) && _traces.TryGetValue(old.Trace.Key, out var held) && held == old.Trace)
                        {
                            _traces.Remove(old.Trace.Key);
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
                    var category = scope.Scope?.Name is { Length: > 0 } name ? _strings.Get(name) : null;
                    foreach (var log in scope.LogRecords)
                    {
                        // The oldest record leaves once the buffer is full.
                        _logs.Add(new LogRecordView(
                            Ticks(log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano), resource, Level(log), _strings.Get(Text(log.Body)), category,
                            log.TraceId.IsEmpty ? null : TelemetryIds.TraceKey(log.TraceId.Span), TelemetryIds.SpanKey(log.SpanId.Span), Attributes(log.Attributes)));
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

    /// <summary>The spans held of a trace (32 lowercase hex digits), by start; none for an id not held or not well formed.</summary>
    public IReadOnlyList<SpanRecord> Trace(string traceId)
    {
        if (!TelemetryIds.TryParseTraceId(traceId, out var key))
        {
            return [];
        }

        lock (_gate)
        {
            return _traces.TryGetValue(key, out var trace) ? [.. trace.Spans.OrderBy(s => s.StartTicks)] : [];
        }
    }

    /// <summary>
    /// Traces newest first (by start), each summarised; only those that touched <paramref name="resource"/> and whose
    /// span names contain <paramref name="text"/> when given. <c>Matched</c> counts every match, not just those returned.
    /// </summary>
    /// <remarks>
    /// Only the traces returned are summarised: the others are counted and compared by start (a bounded heap of
    /// <paramref name="limit"/>), so a page of the newest 200 costs little more with 20,000 traces held than with 200.
    /// </remarks>
    public (IReadOnlyList<TraceSummary> Traces, int Matched) TraceSummaries(string? resource, string? text, int limit)
    {
        var newest = new PriorityQueue<TraceEntry, long>(Math.Max(limit, 0) + 1);
        var matched = 0;
        Predicate<SpanRecord>? touches = resource is null ? null : s => s.Resource == resource;
        Predicate<SpanRecord>? named = string.IsNullOrEmpty(text) ? null : s => s.Name.Contains(text, StringComparison.OrdinalIgnoreCase);
        lock (_gate)
        {
            foreach (var trace in _traces.Values)
            {
                if ((touches is null || trace.Any(touches)) && (named is null || trace.Any(named)))
                {
                    matched++;
                    if (limit <= 0)
                    {
                        continue;
                    }

                    // A min-heap of the newest `limit` by start: a newer trace replaces the oldest of them.
                    var start = trace.StartTicks;
                    if (newest.Count < limit)
                    {
                        newest.Enqueue(trace, start);
                    }
                    else if (newest.TryPeek(out _, out var oldest) && start > oldest)
                    {
                        newest.EnqueueDequeue(trace, start);
                    }
                }
            }

            var summaries = new List<TraceSummary>(newest.Count);
            while (newest.TryDequeue(out var trace, out _))
            {
                summaries.Add(Summarise(trace));
            }

            summaries.Reverse();
            return (summaries, matched);
        }
    }

    private static TraceSummary Summarise(TraceEntry trace)
    {
        var spans = trace.Spans;
        var start = long.MaxValue;
        var end = long.MinValue;
        var errors = 0;
        SpanRecord? root = null;
        var ids = new HashSet<ulong>(spans.Count);
        foreach (var span in spans)
        {
            ids.Add(span.SpanIdValue);
        }

        foreach (var span in spans)
        {
            start = Math.Min(start, span.StartTicks);
            end = Math.Max(end, span.EndTicks);
            errors += span.IsError ? 1 : 0;
            // The root: no parent, or a parent not held (it left the buffer or never came); the earliest such span.
            if ((span.ParentSpanIdValue == 0 || !ids.Contains(span.ParentSpanIdValue)) && (root is null || span.StartTicks < root.StartTicks))
            {
                root = span;
            }
        }

        return new TraceSummary(trace.Id, root?.Name ?? spans[0].Name, new DateTimeOffset(start, TimeSpan.Zero), TimeSpan.FromTicks(end - start), spans.Count, errors,
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

    /// <summary>Log records, newest first, that pass <paramref name="filter"/> (read in place: the buffer is not copied).</summary>
    public IReadOnlyList<LogRecordView> Logs(Func<LogRecordView, bool> filter, int limit)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var found = new List<LogRecordView>(Math.Clamp(limit, 0, 1_000));
        lock (_gate)
        {
            for (var i = 0; i < _logs.Count && found.Count < limit; i++)
            {
                var log = _logs.NewestFirst(i);
                if (filter(log))
                {
                    found.Add(log);
                }
            }
        }

        return found;
    }

    /// <summary>The log records of one trace (32 lowercase hex digits), newest first.</summary>
    public IReadOnlyList<LogRecordView> Logs(string traceId, Func<LogRecordView, bool> filter, int limit)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return TelemetryIds.TryParseTraceId(traceId, out var key) ? Logs(l => l.IsInTrace(key) && filter(l), limit) : [];
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
        string resource, OtlpMetrics.Metric metric, string kind, IReadOnlyList<KeyValue> attributes, ulong timeUnixNano, double value,
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

        series.Points.Enqueue(new MetricPoint(new DateTimeOffset(Ticks(timeUnixNano), TimeSpan.Zero), value));
        while (series.Points.Count > limits.MaxPointsPerSeries)
        {
            series.Points.Dequeue();
        }
    }

    /// <summary>
    /// The AppHost resource that sent it: <c>service.instance.id</c> is <c>{resource}-{32 hex}</c> for the projects it
    /// starts (replicas share <c>service.name</c>: gateway-2 is an instance of gateway); else <c>service.name</c>.
    /// </summary>
    private string ResourceName(IReadOnlyList<KeyValue>? attributes)
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

        if (instance is { Length: > 33 } && instance[^33] == '-' && !instance.AsSpan(instance.Length - 32).ContainsAnyExcept(TelemetryIds.LowerHex))
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

    private CompactAttributes Attributes(IReadOnlyList<KeyValue> attributes)
    {
        if (attributes.Count == 0)
        {
            return CompactAttributes.Empty;
        }

        var pairs = new KeyValuePair<string, string>[attributes.Count];
        var count = 0;
        foreach (var attribute in attributes)
        {
            var pair = new KeyValuePair<string, string>(_strings.Get(attribute.Key), _strings.Get(Text(attribute.Value)));
            // A key given twice keeps its last value.
            var at = 0;
            while (at < count && pairs[at].Key != pair.Key)
            {
                at++;
            }

            pairs[at] = pair;
            count = Math.Max(count, at + 1);
        }

        return new CompactAttributes(count == pairs.Length ? pairs : pairs[..count]);
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

    private static long Ticks(ulong unixNano) => DateTimeOffset.UnixEpoch.UtcTicks + (long)Math.Min(unixNano / 100, (ulong)(DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks));

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
    public static readonly CompactAttributes Empty = new([]);

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
/// One instance per distinct string of up to <see cref="MaxLength"/> characters (attribute names, span names, resource
/// names, routes, SQL statements, user agents, log templates and messages), so that a hundred thousand spans do not hold
/// a hundred thousand copies of "http.request.method" or of the same 200-character query. Bounded: when it holds
/// <c>capacity</c> strings it starts afresh, so values seen once (ids in paths and URLs) do not fill it for good, nor
/// stay alive in it after their spans have left; what repeats is pooled again at its next arrival.
/// </summary>
internal sealed class StringPool(int capacity)
{
    public const int DefaultCapacity = 20_000;
    public const int MaxLength = 256;
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);

    /// <summary>Not thread-safe: the store calls it under its lock.</summary>
    public string Get(string value)
    {
        if (value.Length > MaxLength)
        {
            return value;
        }

        if (_pool.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        if (_pool.Count >= capacity)
        {
            _pool.Clear();
        }

        _pool[value] = value;
        return value;
    }
}

/// <summary>
/// The newest <c>capacity</c> items in arrival order, read newest first by index without copying; the array grows
/// (doubling) up to the capacity, so a store that holds little uses little.
/// </summary>
internal sealed class RingBuffer<T>(int capacity)
    where T : class
{
    private T[] _items = new T[Math.Min(capacity, 1_024)];
    private int _head; // the oldest item
    private int _count;

    public int Count => _count;

    /// <summary>Adds an item; returns the oldest, which left to make room, when the buffer was full.</summary>
    public T? Add(T item)
    {
        if (_count == _items.Length && _items.Length < capacity)
        {
            var grown = new T[(int)Math.Min((long)_items.Length * 2, capacity)];
            for (var i = 0; i < _count; i++)
            {
                grown[i] = _items[(_head + i) % _items.Length];
            }

            (_items, _head) = (grown, 0);
        }

        if (_count < _items.Length)
        {
            _items[(_head + _count++) % _items.Length] = item;
            return null;
        }

        var oldest = _items[_head];
        _items[_head] = item;
        _head = (_head + 1) % _items.Length;
        return oldest;
    }

    /// <summary>The <paramref name="index"/>-th newest item (0 is the newest).</summary>
    public T NewestFirst(int index) => _items[(_head + _count - 1 - index) % _items.Length];
}
