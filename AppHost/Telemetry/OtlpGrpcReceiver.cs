using System.Globalization;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Metrics;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;

namespace SmartHub.Hosting.Telemetry;

/// <summary>
/// OTLP/gRPC (as the OpenTelemetry SDKs send with <c>OTEL_EXPORTER_OTLP_PROTOCOL=grpc</c>): the collector's
/// <c>TraceService</c>, <c>MetricsService</c> and <c>LogsService</c> <c>Export</c> calls into the
/// <see cref="TelemetryStore"/> registered in DI. Every call needs the <see cref="OtlpApiKey"/> (also from DI) in the
/// <c>x-otlp-api-key</c> metadata; without it the call ends with <see cref="StatusCode.Unauthenticated"/> before its
/// message is read. Messages above <see cref="MaxMessageBytes"/> end with <see cref="StatusCode.ResourceExhausted"/>.
/// gRPC needs HTTP/2: without TLS, the endpoint serving it must listen with <c>HttpProtocols.Http2</c> only (h2c with
/// prior knowledge), so OTLP/HTTP, which exporters send as HTTP/1.1, needs another endpoint.
/// </summary>
public static class OtlpGrpcReceiver
{
    /// <summary>The largest export message received, the same as OTLP/HTTP's body limit.</summary>
    public const int MaxMessageBytes = OtlpHttpReceiver.MaxBodyBytes;

    /// <summary>
    /// Adds ASP.NET Core gRPC (<c>AddGrpc</c>) with <see cref="MaxMessageBytes"/> for the three OTLP services only (other
    /// gRPC services keep their own settings). The host also registers one <see cref="TelemetryStore"/> and one
    /// <see cref="OtlpApiKey"/> singleton.
    /// </summary>
    public static IServiceCollection AddOtlpGrpc(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<OtlpGrpcRegistered>();
        services.AddGrpc()
            .AddServiceOptions<TraceReceiver>(Limit)
            .AddServiceOptions<MetricsReceiver>(Limit)
            .AddServiceOptions<LogsReceiver>(Limit);
        return services;

        static void Limit(GrpcServiceOptions options) => options.MaxReceiveMessageSize = MaxMessageBytes;
    }

    /// <summary>
    /// Maps <c>opentelemetry.proto.collector.{trace,metrics,logs}.v1.*Service/Export</c>. Needs <see cref="AddOtlpGrpc"/>
    /// and the <see cref="TelemetryStore"/> and <see cref="OtlpApiKey"/> singletons (checked here, at start).
    /// </summary>
    public static IEndpointRouteBuilder MapOtlpGrpc(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<OtlpGrpcRegistered>() is null)
        {
            throw new InvalidOperationException($"MapOtlpGrpc needs services.{nameof(AddOtlpGrpc)}() (it sets the OTLP services' message size limit).");
        }

        _ = services.GetService<TelemetryStore>()
            ?? throw new InvalidOperationException($"MapOtlpGrpc needs a {nameof(TelemetryStore)} singleton in the services.");
        var apiKey = services.GetService<OtlpApiKey>()
            ?? throw new InvalidOperationException($"MapOtlpGrpc needs an {nameof(OtlpApiKey)} singleton in the services: the OTLP receivers always require a key.");

        endpoints.MapGrpcService<TraceReceiver>().Add(endpoint => RequireKey(endpoint, apiKey));
        endpoints.MapGrpcService<MetricsReceiver>().Add(endpoint => RequireKey(endpoint, apiKey));
        endpoints.MapGrpcService<LogsReceiver>().Add(endpoint => RequireKey(endpoint, apiKey));
        return endpoints;
    }

    /// <summary>
    /// Checks the key in front of the gRPC handler, before the request message is read (an unauthenticated caller
    /// cannot make the AppHost buffer and parse 8 MB), and refuses with a trailers-only gRPC response: HTTP 200,
    /// <c>application/grpc</c>, <c>grpc-status: 16</c> in the headers, as Grpc.AspNetCore itself ends a call that fails
    /// before any message.
    /// </summary>
    private static void RequireKey(EndpointBuilder endpoint, OtlpApiKey apiKey)
    {
        var next = endpoint.RequestDelegate
            ?? throw new InvalidOperationException($"The gRPC endpoint '{endpoint.DisplayName}' has no request delegate to guard.");
        endpoint.RequestDelegate = context =>
        {
            if (apiKey.IsAuthorized(context.Request.Headers))
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)StatusCode.Unauthenticated).ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = $"OTLP here requires the {OtlpApiKey.HeaderName} metadata.";
            return Task.CompletedTask;
        };
    }

    /// <summary>Marks that <see cref="AddOtlpGrpc"/> ran, so <see cref="MapOtlpGrpc"/> can say which call is missing.</summary>
    private sealed class OtlpGrpcRegistered;

    private sealed class TraceReceiver(TelemetryStore store) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            store.Add(request);
            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    private sealed class MetricsReceiver(TelemetryStore store) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            store.Add(request);
            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }

    private sealed class LogsReceiver(TelemetryStore store) : LogsService.LogsServiceBase
    {
        public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
        {
            store.Add(request);
            return Task.FromResult(new ExportLogsServiceResponse());
        }
    }
}
