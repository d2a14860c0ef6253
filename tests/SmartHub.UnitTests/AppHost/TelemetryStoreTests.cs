using Google.Protobuf;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;
using SmartHub.AppHost.Telemetry.Otlp.Common;
using SmartHub.Hosting.Telemetry;
using OtlpLogs = SmartHub.AppHost.Telemetry.Otlp.Logs;
using OtlpTrace = SmartHub.AppHost.Telemetry.Otlp.Trace;

namespace SmartHub.UnitTests.AppHost;

/// <summary>
/// The telemetry store as the dashboard's pages read it when full: ids kept as numbers read back as the hex the SDKs
/// sent, the newest traces found without summarising the others, logs read newest first from a ring, strings pooled.
/// </summary>
public sealed class TelemetryStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static ulong Nanos(DateTimeOffset time) => (ulong)(time - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static byte[] TraceBytes(int trace) => [.. BitConverter.GetBytes((long)trace).Reverse(), 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5];

    private static OtlpTrace.Span Span(int trace, ulong id, ulong parent, string name, double startMs) => new()
    {
        TraceId = ByteString.CopyFrom(TraceBytes(trace)),
        SpanId = ByteString.CopyFrom([.. BitConverter.GetBytes(id).Reverse()]),
        ParentSpanId = parent == 0 ? ByteString.Empty : ByteString.CopyFrom([.. BitConverter.GetBytes(parent).Reverse()]),
        Name = name,
        StartTimeUnixNano = Nanos(T0.AddMilliseconds(startMs)),
        EndTimeUnixNano = Nanos(T0.AddMilliseconds(startMs + 10)),
        Attributes = { new KeyValue { Key = "url.path", Value = new AnyValue { StringValue = "/api/v1/items/" + trace } } },
    };

    private static void AddSpans(TelemetryStore store, params OtlpTrace.Span[] spans) =>
        store.Add(new ExportTraceServiceRequest { ResourceSpans = { new OtlpTrace.ResourceSpans { ScopeSpans = { new OtlpTrace.ScopeSpans { Spans = { spans } } } } } });

    private static void AddLog(TelemetryStore store, string message, int? trace = null) =>
        store.Add(new ExportLogsServiceRequest
        {
            ResourceLogs =
            {
                new OtlpLogs.ResourceLogs
                {
                    ScopeLogs =
                    {
                        new OtlpLogs.ScopeLogs
                        {
                            LogRecords =
                            {
                                new OtlpLogs.LogRecord
                                {
                                    TimeUnixNano = Nanos(T0),
                                    SeverityNumber = OtlpLogs.SeverityNumber.Info,
                                    Body = new AnyValue { StringValue = message },
                                    TraceId = trace is { } t ? ByteString.CopyFrom(TraceBytes(t)) : ByteString.Empty,
                                    SpanId = trace is not null ? ByteString.CopyFrom([0, 0, 0, 0, 0, 0, 0, 7]) : ByteString.Empty,
                                },
                            },
                        },
                    },
                },
            },
        });

    [Fact]
    public void Ids_and_times_held_as_numbers_read_back_as_sent()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        AddSpans(store, Span(1, 0x0102030405060708, 0, "root", 0), Span(1, 0xfffffffffffffffe, 0x0102030405060708, "child", 2));
        var traceId = Convert.ToHexStringLower(TraceBytes(1));

        var spans = store.Trace(traceId);

        Assert.Equal(["root", "child"], spans.Select(s => s.Name));
        Assert.All(spans, s => Assert.Equal(traceId, s.TraceId));
        Assert.Same(spans[0].TraceId, spans[1].TraceId); // one string per trace
        Assert.Equal("0102030405060708", spans[0].SpanId);
        Assert.Null(spans[0].ParentSpanId);
        Assert.Equal(("fffffffffffffffe", "0102030405060708"), (spans[1].SpanId, spans[1].ParentSpanId));
        Assert.Equal(T0.AddMilliseconds(2), spans[1].Start);
        Assert.Equal(TimeSpan.FromMilliseconds(10), spans[1].Duration);
        Assert.Empty(store.Trace(traceId.ToUpperInvariant())); // the pages lower-case what they are given
        Assert.Empty(store.Trace("not a trace id"));
    }

    [Fact]
    public void The_newest_traces_by_start_are_found_among_many_and_all_matches_counted()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        var starts = Enumerable.Range(0, 1_000).Select(i => i * 7919 % 1_000).ToArray(); // every start once, shuffled
        foreach (var (start, trace) in starts.Select((s, i) => (s, i)))
        {
            AddSpans(store, Span(trace, 1, 0, $"GET /items/{start}", start), Span(trace, 2, 1, "SELECT", start + 1));
        }

        var (traces, matched) = store.TraceSummaries(resource: null, text: null, limit: 10);

        Assert.Equal(1_000, matched);
        Assert.Equal(Enumerable.Range(990, 10).Reverse().Select(s => $"GET /items/{s}"), traces.Select(t => t.Name));
        Assert.All(traces, t => Assert.Equal(2, t.SpanCount));
        Assert.Empty(store.TraceSummaries(null, null, 0).Traces);
        Assert.Equal(1_000, store.TraceSummaries(null, null, 0).Matched);
        var (named, namedMatched) = store.TraceSummaries(null, "/items/99", 2);
        Assert.Equal(11, namedMatched); // 99 and 990-999
        Assert.Equal(["GET /items/999", "GET /items/998"], named.Select(t => t.Name));
    }

    [Fact]
    public void Spans_leave_oldest_first_and_a_trace_whose_root_left_is_named_by_its_earliest_span()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxSpans = 100 });
        AddSpans(store, Span(0, 1, 0, "first root", 0));
        AddSpans(store, [.. Enumerable.Range(1, 99).Select(i => Span(i, 1, 0, "filler", i))]);
        AddSpans(store, Span(0, 2, 1, "late child", 500));

        Assert.Equal(100, store.SpanCount);
        var trace = Assert.Single(store.Trace(Convert.ToHexStringLower(TraceBytes(0))));
        Assert.Equal("late child", trace.Name);
        var summary = store.TraceSummaries(null, "late", 10).Traces.Single();
        Assert.Equal(("late child", T0.AddMilliseconds(500)), (summary.Name, summary.Start)); // its start moved with the root
        Assert.Equal("late child", store.TraceSummaries(null, null, 1).Traces.Single().Name); // now the newest
        Assert.Equal(100, store.TraceSummaries(null, null, 1_000).Matched);
    }

    [Fact]
    public void Logs_are_read_newest_first_from_a_full_ring_and_by_trace_id()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxLogs = 100 });
        for (var i = 0; i < 250; i++)
        {
            AddLog(store, $"record {i}", trace: i % 10 == 0 ? i : null);
        }

        Assert.Equal(100, store.LogCount);
        Assert.Equal(["record 249", "record 248"], store.Logs(_ => true, 2).Select(l => l.Message));
        Assert.Equal("record 150", store.Logs(_ => true, 1_000)[^1].Message);
        var traceId = Convert.ToHexStringLower(TraceBytes(200));
        var log = Assert.Single(store.Logs(traceId, _ => true, 10));
        Assert.Equal(("record 200", traceId, "0000000000000007"), (log.Message, log.TraceId, log.SpanId));
        Assert.Empty(store.Logs(Convert.ToHexStringLower(TraceBytes(100)), _ => true, 10)); // left the ring
        Assert.Empty(store.Logs("zz", _ => true, 10));
        Assert.Null(store.Logs(l => l.Message == "record 249", 1).Single().TraceId);
    }

    [Fact]
    public void Repeated_strings_share_one_instance_and_the_pool_starts_afresh_when_full()
    {
        var pool = new StringPool(capacity: 3);
        var query = new string('q', StringPool.MaxLength);
        var first = pool.Get(new string(query));
        Assert.Same(first, pool.Get(new string(query)));
        var tooLong = new string('x', StringPool.MaxLength + 1);
        Assert.Same(tooLong, pool.Get(tooLong));
        Assert.NotSame(pool.Get(tooLong), pool.Get(new string(tooLong)));

        pool.Get("a");
        pool.Get("b");
        pool.Get("c"); // full: starts afresh, so "c" is pooled and the query no longer is
        var again = pool.Get(new string(query));
        Assert.NotSame(first, again);
        Assert.Same(again, pool.Get(new string(query)));
    }
}
