using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;
using SmartHub.Hosting.Telemetry;
using OtlpLogs = SmartHub.AppHost.Telemetry.Otlp.Logs;

namespace SmartHub.UnitTests.AppHost;

/// <summary>
/// The AppHost's OTLP/gRPC receiver on Kestrel over h2c (HTTP/2 without TLS, as the services reach the AppHost on
/// loopback), fed by the OpenTelemetry SDK's exporters in <see cref="OtlpExportProtocol.Grpc"/> mode and by a plain
/// gRPC client where the exact status matters.
/// </summary>
public sealed class OtlpGrpcReceiverTests
{
    private static readonly OtlpApiKey ApiKey = OtlpApiKey.Generate();

    private static readonly Method<ExportTraceServiceRequest, ExportTraceServiceResponse> ExportTraces = new(
        MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
        Marshallers.Create(r => r.ToByteArray(), ExportTraceServiceRequest.Parser.ParseFrom),
        Marshallers.Create(r => r.ToByteArray(), ExportTraceServiceResponse.Parser.ParseFrom));

    private static readonly Method<ExportLogsServiceRequest, ExportLogsServiceResponse> ExportLogs = new(
        MethodType.Unary, "opentelemetry.proto.collector.logs.v1.LogsService", "Export",
        Marshallers.Create(r => r.ToByteArray(), ExportLogsServiceRequest.Parser.ParseFrom),
        Marshallers.Create(r => r.ToByteArray(), ExportLogsServiceResponse.Parser.ParseFrom));

    [Fact]
    public async Task Spans_logs_and_metrics_exported_by_the_sdk_over_grpc_are_held()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);

        // http:// with an HTTP/2-only endpoint: the SDK's gRPC client speaks h2c with prior knowledge, no AppContext switch needed.
        var traceId = OtlpDefinitionsTests.ExportThroughSdk(app.Urls.First(), OtlpExportProtocol.Grpc, ApiKey.ExporterHeaders);

        var span = Assert.Single(store.Trace(traceId.ToHexString()));
        Assert.Equal(("probe", "GET /probe", "Server", true, "boom"), (span.Resource, span.Name, span.Kind, span.IsError, span.StatusMessage));
        Assert.Equal(traceId.ToHexString(), span.TraceId);
        Assert.Equal("/probe", span.Attributes["http.route"]);
        var log = Assert.Single(store.Logs(l => l.Resource == "probe", 10));
        Assert.Equal(("Warning", "Probe"), (log.Level, log.Category));
        Assert.Equal("Probe {Thing} failed", log.Message);
        Assert.Equal("disk", log.Attributes["Thing"]);
        Assert.Equal(3, store.Metrics("probe", "probe.requests").Single().Points[^1].Value);
        var duration = Assert.Single(store.Metrics("probe", "probe.duration"));
        Assert.Equal(0.5, duration.Points[^1].Value, 6);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("x-otlp-api-key=not-the-key")]
    public async Task Sdk_exports_without_the_api_key_are_refused_and_nothing_is_held(string? headers)
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);

        var traceId = OtlpDefinitionsTests.ExportThroughSdk(app.Urls.First(), OtlpExportProtocol.Grpc, headers);

        Assert.Empty(store.Trace(traceId.ToHexString()));
        Assert.Equal(0, store.SpanCount);
        Assert.Empty(store.Logs(_ => true, 10));
        Assert.Empty(store.Metrics());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-the-key")]
    public async Task A_call_without_the_right_key_ends_unauthenticated(string? key)
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);
        using var channel = GrpcChannel.ForAddress(app.Urls.First());
        var metadata = new Metadata();
        if (key is not null)
        {
            metadata.Add(OtlpApiKey.HeaderName, key);
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(ExportLogs, null, new CallOptions(metadata), LogsRequest("refused", 1)).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains(OtlpApiKey.HeaderName, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(store.Logs(_ => true, 10));
    }

    [Fact]
    public async Task Messages_up_to_8_mb_are_received_and_larger_ones_end_resource_exhausted()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);
        using var channel = GrpcChannel.ForAddress(app.Urls.First());
        var call = new CallOptions(new Metadata { { OtlpApiKey.HeaderName, ApiKey.Key } });

        // 5 MB: above gRPC's default 4 MB receive limit, so this passes only with the receiver's own limit.
        var big = LogsRequest(new string('a', 1024 * 1024), 5);
        Assert.InRange(big.CalculateSize(), 5 * 1024 * 1024, OtlpGrpcReceiver.MaxMessageBytes);
        await channel.CreateCallInvoker().AsyncUnaryCall(ExportLogs, null, call, big).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5, store.Logs(_ => true, 10).Count);

        var tooBig = LogsRequest(new string('b', 1024 * 1024), 9);
        Assert.True(tooBig.CalculateSize() > OtlpGrpcReceiver.MaxMessageBytes);
        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(ExportLogs, null, call, tooBig).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal(5, store.Logs(_ => true, 10).Count);
    }

    [Fact]
    public async Task A_plain_grpc_client_with_the_key_gets_an_empty_export_response()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        await using var app = await ReceiverAsync(store);
        using var channel = GrpcChannel.ForAddress(app.Urls.First());

        var response = await channel.CreateCallInvoker()
            .AsyncUnaryCall(ExportTraces, null, new CallOptions(new Metadata { { OtlpApiKey.HeaderName, ApiKey.Key } }), new ExportTraceServiceRequest())
            .ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(response.PartialSuccess);
    }

    [Fact]
    public void Mapping_without_the_registrations_fails_at_start_with_what_is_missing()
    {
        var withoutAdd = WebApplication.CreateSlimBuilder();
        withoutAdd.Services.AddSingleton(new TelemetryStore(new TelemetryLimits())).AddSingleton(ApiKey);
        var withoutKey = WebApplication.CreateSlimBuilder();
        withoutKey.Services.AddSingleton(new TelemetryStore(new TelemetryLimits())).AddOtlpGrpc();

        using var first = withoutAdd.Build();
        using var second = withoutKey.Build();

        Assert.Contains("AddOtlpGrpc", Assert.Throws<InvalidOperationException>(() => first.MapOtlpGrpc()).Message, StringComparison.Ordinal);
        Assert.Contains("OtlpApiKey", Assert.Throws<InvalidOperationException>(() => second.MapOtlpGrpc()).Message, StringComparison.Ordinal);
    }

    private static ExportLogsServiceRequest LogsRequest(string body, int count)
    {
        var scope = new OtlpLogs.ScopeLogs();
        for (var i = 0; i < count; i++)
        {
            scope.LogRecords.Add(new OtlpLogs.LogRecord { Body = new() { StringValue = body }, SeverityNumber = OtlpLogs.SeverityNumber.Info });
        }

        return new ExportLogsServiceRequest { ResourceLogs = { new OtlpLogs.ResourceLogs { ScopeLogs = { scope } } } };
    }

    private static async Task<WebApplication> ReceiverAsync(TelemetryStore store)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(store).AddSingleton(ApiKey).AddOtlpGrpc();
        var app = builder.Build();
        app.MapOtlpGrpc();
        await app.StartAsync();
        return app;
    }
}

/// <summary>The key both OTLP receivers require.</summary>
public sealed class OtlpApiKeyTests
{
    [Theory]
    [InlineData("")]
    [InlineData("a,b")]
    [InlineData("a=b")]
    [InlineData("a b")]
    public void A_key_that_is_empty_or_would_not_survive_the_headers_variable_is_refused(string key) =>
        Assert.Throws<ArgumentException>(() => new OtlpApiKey(key));

    [Fact]
    public void There_is_no_null_key() => Assert.Throws<ArgumentNullException>(() => new OtlpApiKey(null!));

    [Fact]
    public void Only_the_exact_key_matches()
    {
        var key = new OtlpApiKey("s3cret");

        Assert.True(key.Matches("s3cret"));
        Assert.False(key.Matches("s3cre"));
        Assert.False(key.Matches("s3cret "));
        Assert.False(key.Matches("S3CRET"));
        Assert.False(key.Matches(""));
        Assert.False(key.Matches(null));
        Assert.Equal("x-otlp-api-key=s3cret", key.ExporterHeaders);
        Assert.DoesNotContain("s3cret", key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Generated_keys_are_long_random_and_header_safe()
    {
        var one = OtlpApiKey.Generate();
        var other = OtlpApiKey.Generate();

        Assert.Matches("^[0-9a-f]{64}$", one.Key);
        Assert.NotEqual(one.Key, other.Key);
    }
}
