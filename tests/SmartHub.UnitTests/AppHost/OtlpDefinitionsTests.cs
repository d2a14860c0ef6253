using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Metrics;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;
using SmartHub.Hosting.Telemetry;
using OtlpSpan = SmartHub.AppHost.Telemetry.Otlp.Trace.Span;

namespace SmartHub.UnitTests.AppHost;

/// <summary>
/// The AppHost's OTLP message definitions (AppHost/Telemetry/Protos, written from the protocol specification) decode
/// what the OpenTelemetry .NET SDK's own OTLP/HTTP exporter sends: traces, metrics and logs.
/// </summary>
public sealed class OtlpDefinitionsTests
{
    [Fact]
    public async Task The_sdk_s_otlp_http_exports_decode_with_our_definitions()
    {
        var bodies = new ConcurrentDictionary<string, byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            bodies[signal] = body.ToArray();
            return Results.Ok();
        });
        await app.StartAsync();
        var endpoint = app.Urls.First();
        var traceId = ExportThroughSdk(endpoint);

        var span = ExportTraceServiceRequest.Parser.ParseFrom(bodies["traces"]).ResourceSpans.Single().ScopeSpans.Single().Spans.Single();
        Assert.Equal("GET /probe", span.Name);
        Assert.Equal(OtlpSpan.Types.SpanKind.Server, span.Kind);
        Assert.Equal(traceId.ToHexString(), Convert.ToHexStringLower(span.TraceId.ToByteArray()));
        Assert.Equal("/probe", span.Attributes.Single(a => a.Key == "http.route").Value.StringValue);
        Assert.Equal(500, span.Attributes.Single(a => a.Key == "http.response.status_code").Value.IntValue);
        Assert.Equal("boom", span.Status.Message);
        Assert.True(span.EndTimeUnixNano >= span.StartTimeUnixNano);

        var metrics = ExportMetricsServiceRequest.Parser.ParseFrom(bodies["metrics"]).ResourceMetrics.Single();
        Assert.Equal("probe", metrics.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue);
        var all = metrics.ScopeMetrics.SelectMany(s => s.Metrics).ToList();
        var point = all.Single(m => m.Name == "probe.duration").Histogram.DataPoints.Single();
        Assert.Equal(2UL, point.Count);
        Assert.Equal(1.0, point.Sum, 6);
        Assert.Equal(point.ExplicitBounds.Count + 1, point.BucketCounts.Count);
        Assert.Equal(3, all.Single(m => m.Name == "probe.requests").Sum.DataPoints.Single().AsInt);

        var log = ExportLogsServiceRequest.Parser.ParseFrom(bodies["logs"]).ResourceLogs.Single().ScopeLogs.Single().LogRecords.Single();
        Assert.Equal(SmartHub.AppHost.Telemetry.Otlp.Logs.SeverityNumber.Warn, log.SeverityNumber);
        Assert.Contains("disk", log.Body.StringValue + string.Join(",", log.Attributes.Select(a => a.Value.StringValue)), StringComparison.Ordinal);
    }

    /// <summary>
    /// One span, two histogram measurements and a counter, and one warning log, through the SDK's OTLP exporters
    /// (OTLP/HTTP by default), with <paramref name="headers"/> as <c>OTEL_EXPORTER_OTLP_HEADERS</c> would give them.
    /// </summary>
    internal static ActivityTraceId ExportThroughSdk(string endpoint, OtlpExportProtocol protocol = OtlpExportProtocol.HttpProtobuf, string? headers = null)
    {
        void Otlp(OtlpExporterOptions o, string signal)
        {
            // OTLP/gRPC takes the server's address (the service path is the gRPC method); OTLP/HTTP set in code takes the full URL.
            o.Endpoint = new Uri(protocol == OtlpExportProtocol.Grpc ? endpoint : $"{endpoint}/v1/{signal}");
            o.Protocol = protocol;
            if (headers is not null)
            {
                o.Headers = headers;
            }
        }

        var resource = ResourceBuilder.CreateEmpty().AddService("probe", serviceInstanceId: "probe-1");
        var name = "otlp-test-" + Guid.NewGuid().ToString("N");
        using var source = new ActivitySource(name);
        using var meter = new Meter(name);
        ActivityTraceId traceId;
        using (var tracer = Sdk.CreateTracerProviderBuilder().AddSource(name).SetResourceBuilder(resource).AddOtlpExporter(o => Otlp(o, "traces")).Build())
        {
            using (var activity = source.StartActivity("GET /probe", ActivityKind.Server)!)
            {
                activity.SetTag("http.route", "/probe");
                activity.SetTag("http.response.status_code", 500);
                activity.SetStatus(ActivityStatusCode.Error, "boom");
                traceId = activity.TraceId;
            }

            tracer.ForceFlush();
        }

        using (var meters = Sdk.CreateMeterProviderBuilder().AddMeter(name).SetResourceBuilder(resource).AddOtlpExporter(o => Otlp(o, "metrics")).Build())
        {
            var histogram = meter.CreateHistogram<double>("probe.duration", "s");
            histogram.Record(0.25, new KeyValuePair<string, object?>("route", "/probe"));
            histogram.Record(0.75, new KeyValuePair<string, object?>("route", "/probe"));
            meter.CreateCounter<long>("probe.requests").Add(3);
            meters.ForceFlush();
        }

        using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(resource);
            o.AddOtlpExporter(e => Otlp(e, "logs"));
        })))
        {
            factory.CreateLogger("Probe").LogWarning("Probe {Thing} failed", "disk");
        }

        return traceId;
    }
}

/// <summary>The AppHost's OTLP/HTTP receiver and its bounded store, fed by the OpenTelemetry SDK's exporters.</summary>
public sealed class OtlpReceiverTests
{
    private static readonly OtlpApiKey ApiKey = OtlpApiKey.Generate();

    [Fact]
    public async Task Spans_logs_and_metrics_sent_by_the_sdk_are_held_and_queryable()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);

        var traceId = OtlpDefinitionsTests.ExportThroughSdk(app.Urls.First(), headers: ApiKey.ExporterHeaders);

        var span = Assert.Single(store.Trace(traceId.ToHexString()));
        Assert.Equal(("probe", "GET /probe", "Server", true), (span.Resource, span.Name, span.Kind, span.IsError));
        Assert.Equal("/probe", span.Attributes["http.route"]);
        var log = Assert.Single(store.Logs(l => l.Level == "Warning" && l.Resource == "probe", 10));
        Assert.Equal("Probe", log.Category);
        var duration = Assert.Single(store.Metrics("probe", "probe.duration"));
        Assert.Equal(0.5, duration.Points[^1].Value, 6); // a histogram charts its mean (flush and dispose may each export)
        Assert.Equal("/probe", duration.Attributes["route"]);
    }

    [Fact]
    public void The_buffers_are_bounded_and_the_oldest_leave_first()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxSpans = 100, MaxSeries = 10 });
        var request = new ExportTraceServiceRequest();
        var spans = new SmartHub.AppHost.Telemetry.Otlp.Trace.ScopeSpans();
        for (var i = 0; i < 250; i++)
        {
            spans.Spans.Add(new OtlpSpan
            {
                TraceId = Google.Protobuf.ByteString.CopyFrom(Guid.CreateVersion7().ToByteArray()),
                SpanId = Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes((long)i)),
                Name = "span " + i,
            });
        }

        request.ResourceSpans.Add(new SmartHub.AppHost.Telemetry.Otlp.Trace.ResourceSpans { ScopeSpans = { spans } });
        store.Add(request);

        Assert.Equal(100, store.SpanCount);
        var (traces, matched) = store.TraceSummaries(resource: null, text: null, limit: 1_000);
        Assert.Equal(100, matched);
        Assert.DoesNotContain(traces, t => t.Name == "span 0");
        Assert.Contains(traces, t => t.Name == "span 249");
    }

    [Theory]
    [InlineData("application/json", "{}", 415)]
    [InlineData("application/x-protobuf", "not protobuf \u00ff\u00ff\u00ff", 400)]
    public async Task Bad_exports_are_refused(string contentType, string body, int status)
    {
        await using var app = await ReceiverAsync(new TelemetryStore(new TelemetryLimits()));
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add(OtlpApiKey.HeaderName, ApiKey.Key);

        using var response = await client.PostAsync(app.Urls.First() + "/v1/traces", new StringContent(System.Text.RegularExpressions.Regex.Unescape(body), System.Text.Encoding.Latin1, contentType));

        Assert.Equal(status, (int)response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("x-otlp-api-key=not-the-key")]
    public async Task Sdk_exports_without_the_api_key_are_refused_and_nothing_is_held(string? headers)
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);

        var traceId = OtlpDefinitionsTests.ExportThroughSdk(app.Urls.First(), headers: headers);

        Assert.Empty(store.Trace(traceId.ToHexString()));
        Assert.Equal(0, store.SpanCount);
        Assert.Empty(store.Logs(_ => true, 10));
        Assert.Empty(store.Metrics());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-the-key")]
    public async Task A_missing_or_wrong_api_key_is_answered_401_before_the_body_is_judged(string? key)
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, app.Urls.First() + "/v1/logs") { Content = new ByteArrayContent([]) };
        request.Content.Headers.ContentType = new("application/x-protobuf");
        if (key is not null)
        {
            request.Headers.Add(OtlpApiKey.HeaderName, key);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Empty(store.Logs(_ => true, 10));
    }

    private static async Task<WebApplication> ReceiverAsync(TelemetryStore store)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapOtlpHttp(store, ApiKey);
        await app.StartAsync();
        return app;
    }
}
