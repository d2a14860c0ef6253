using Google.Protobuf;
using Microsoft.Extensions.Configuration;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Metrics;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;
using SmartHub.AppHost.Telemetry.Otlp.Common;
using SmartHub.Hosting;
using SmartHub.Hosting.Dashboard;
using SmartHub.Hosting.Orchestration;
using SmartHub.Hosting.Telemetry;
using OtlpMetrics = SmartHub.AppHost.Telemetry.Otlp.Metrics;
using OtlpResource = SmartHub.AppHost.Telemetry.Otlp.Resource.Resource;
using OtlpTrace = SmartHub.AppHost.Telemetry.Otlp.Trace;

namespace SmartHub.UnitTests.AppHost;

/// <summary>What the dashboard's pages read: trace summaries, resources by instance, histogram intervals, console lines, settings.</summary>
public sealed class DashboardModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static OtlpResource Resource(string service, string? instance = null)
    {
        var resource = new OtlpResource { Attributes = { Kv("service.name", service) } };
        if (instance is not null)
        {
            resource.Attributes.Add(Kv("service.instance.id", instance));
        }

        return resource;
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static ulong Nanos(DateTimeOffset time) => (ulong)(time - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static OtlpTrace.Span Span(byte trace, byte id, byte? parent, string name, double startMs, double endMs, bool error = false) => new()
    {
        TraceId = ByteString.CopyFrom([.. Enumerable.Repeat(trace, 16)]),
        SpanId = ByteString.CopyFrom([.. Enumerable.Repeat(id, 8)]),
        ParentSpanId = parent is { } p ? ByteString.CopyFrom([.. Enumerable.Repeat(p, 8)]) : ByteString.Empty,
        Name = name,
        StartTimeUnixNano = Nanos(T0.AddMilliseconds(startMs)),
        EndTimeUnixNano = Nanos(T0.AddMilliseconds(endMs)),
        Status = error ? new OtlpTrace.Status { Code = OtlpTrace.Status.Types.StatusCode.Error } : null,
    };

    private static void Add(TelemetryStore store, OtlpResource resource, params OtlpTrace.Span[] spans) =>
        store.Add(new ExportTraceServiceRequest { ResourceSpans = { new OtlpTrace.ResourceSpans { Resource = resource, ScopeSpans = { new OtlpTrace.ScopeSpans { Spans = { spans } } } } } });

    [Fact]
    public void A_trace_across_resources_is_summarised_by_its_root_newest_first()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        var gateway2 = Resource("gateway", "gateway-2-" + new string('a', 32));
        Add(store, gateway2, Span(1, 1, null, "GET /api/{**rest}", 0, 40));
        Add(store, Resource("core", "core-" + new string('b', 32)), Span(1, 2, 1, "GET /api/v1/credits/balance", 5, 35, error: true), Span(1, 3, 2, "postgresql", 10, 20));
        Add(store, Resource("auth"), Span(2, 9, null, "POST /auth/login", 100, 101));

        var (traces, matched) = store.TraceSummaries(resource: null, text: null, limit: 10);
        Assert.Equal(2, matched);
        Assert.Equal("POST /auth/login", traces[0].Name); // newest first
        var first = traces[1];
        Assert.Equal("GET /api/{**rest}", first.Name);
        Assert.Equal(3, first.SpanCount);
        Assert.Equal(1, first.ErrorCount);
        Assert.Equal(TimeSpan.FromMilliseconds(40), first.Duration);
        // Replicas share service.name; the instance id names the AppHost resource.
        Assert.Equal(["core", "gateway-2"], first.Resources);
        Assert.Equal(["auth", "core", "gateway-2"], store.Resources());

        Assert.Equal(1, store.TraceSummaries("core", null, 10).Matched);
        Assert.Equal("GET /api/{**rest}", Assert.Single(store.TraceSummaries(null, "BALANCE", 10).Traces).Name);
        Assert.Single(store.TraceSummaries(null, null, 1).Traces);
        Assert.Equal(2, store.TraceSummaries(null, null, 1).Matched);
    }

    [Fact]
    public void A_cumulative_histogram_charts_the_mean_of_each_interval()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        void Export(ulong count, double sum, int second) => store.Add(new ExportMetricsServiceRequest
        {
            ResourceMetrics =
            {
                new OtlpMetrics.ResourceMetrics
                {
                    Resource = Resource("core"),
                    ScopeMetrics =
                    {
                        new OtlpMetrics.ScopeMetrics
                        {
                            Metrics =
                            {
                                new OtlpMetrics.Metric
                                {
                                    Name = "http.server.request.duration", Unit = "s",
                                    Histogram = new OtlpMetrics.Histogram
                                    {
                                        AggregationTemporality = OtlpMetrics.AggregationTemporality.Cumulative,
                                        DataPoints = { new OtlpMetrics.HistogramDataPoint { Count = count, Sum = sum, TimeUnixNano = Nanos(T0.AddSeconds(second)) } },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        });

        Export(2, 1.0, 1);   // 2 requests, 0.5 s each
        Export(4, 1.2, 2);   // 2 more, 0.1 s each
        Export(4, 1.2, 3);   // none: no point (a mean of nothing is not zero)
        Export(5, 1.5, 4);   // 1 more, 0.3 s

        var series = Assert.Single(store.Metrics("core", "http.server.request.duration"));
        Assert.Equal([0.5, 0.1, 0.3], series.Points.Select(p => Math.Round(p.Value, 6)));
        var instrument = Assert.Single(store.Instruments("core"));
        Assert.Equal(("histogram", "s", 1), (instrument.Kind, instrument.Unit, instrument.SeriesCount));
    }

    [Fact]
    public async Task The_console_log_is_followed_by_sequence_and_stays_bounded()
    {
        var log = new ResourceLog("core", capacity: 3);
        var waiting = log.WaitForLinesAsync(0, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        log.Append("one");
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        log.Append("two");
        log.Append("three");
        log.Append("four");

        Assert.Equal(4, log.LastSequence);
        Assert.Equal(["two", "three", "four"], log.Since(0).Select(l => l.Text));  // "one" left the buffer
        Assert.Equal(["four"], log.Since(3).Select(l => l.Text));
        Assert.Equal(["three", "four"], log.Since(0, max: 2).Select(l => l.Text));
        Assert.Empty(log.Since(4));
        Assert.True(log.WaitForLinesAsync(3, CancellationToken.None).IsCompleted);
        using var cancel = new CancellationTokenSource();
        var pending = log.WaitForLinesAsync(4, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
    }

    [Fact]
    public void Dashboard_settings_are_validated_at_start()
    {
        static DashboardOptions From(params (string Key, string Value)[] values) =>
            DashboardOptions.From(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

        var defaults = From();
        Assert.Equal((true, 18888, 18889, 18890, "grpc"), (defaults.Enabled, defaults.Port, defaults.OtlpGrpcPort, defaults.OtlpHttpPort, defaults.OtlpProtocol));
        Assert.Equal(100_000, defaults.Telemetry.MaxSpans);
        Assert.Equal(5000, From(("Dashboard:Telemetry:MaxSpans", "5000")).Telemetry.MaxSpans);
        Assert.False(From(("SMARTHUB_DASHBOARD_ENABLED", "false")).Enabled);

        Assert.Contains("SMARTHUB_DASHBOARD_PORT", Assert.Throws<DistributedApplicationException>(() => From(("SMARTHUB_DASHBOARD_PORT", "99999"))).Message, StringComparison.Ordinal);
        Assert.Contains("MaxSpans", Assert.Throws<DistributedApplicationException>(() => From(("Dashboard:Telemetry:MaxSpans", "5"))).Message, StringComparison.Ordinal);
        Assert.Contains("SMARTHUB_OTLP_PROTOCOL", Assert.Throws<DistributedApplicationException>(() => From(("SMARTHUB_OTLP_PROTOCOL", "http/json"))).Message, StringComparison.Ordinal);
        Assert.Contains("16 characters", Assert.Throws<DistributedApplicationException>(() => From(("SMARTHUB_DASHBOARD_TOKEN", "short"))).Message, StringComparison.Ordinal);
        Assert.Contains("true or false", Assert.Throws<DistributedApplicationException>(() => From(("SMARTHUB_DASHBOARD_ENABLED", "maybe"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_browser_token_is_random_per_start_and_checked_exactly()
    {
        var auth = new DashboardAuth(configuredToken: null);
        Assert.True(auth.Token.Length >= 40);
        Assert.NotEqual(auth.Token, new DashboardAuth(null).Token);
        Assert.True(auth.IsValidToken(auth.Token));
        Assert.False(auth.IsValidToken(auth.Token[..^1]));
        Assert.False(auth.IsValidToken(auth.Token + "x"));
        Assert.False(auth.IsValidToken(null));
        Assert.True(new DashboardAuth("configured-token-0123456789").IsValidToken("configured-token-0123456789"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("localhost", true)]
    [InlineData("[::1]", true)]
    [InlineData("evil.example", false)]
    [InlineData("127.0.0.1.nip.io", false)]
    public void Only_loopback_host_names_reach_the_dashboard(string host, bool allowed) =>
        Assert.Equal(allowed, DashboardAuthExtensions.IsLoopbackHost(host));
}
