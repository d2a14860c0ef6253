using System.Buffers;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Logs;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Metrics;
using SmartHub.AppHost.Telemetry.Otlp.Collector.Trace;

namespace SmartHub.Hosting.Telemetry;

/// <summary>
/// OTLP/HTTP with binary protobuf (<c>application/x-protobuf</c>, as the OpenTelemetry SDKs send with
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>): <c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>
/// into a <see cref="TelemetryStore"/>. Answers the specification's success (200 with an empty export response),
/// 401 without the <see cref="OtlpApiKey"/> (checked before the body is read), 415 for another content type, 400 for a
/// body that does not decode, 413 above <see cref="MaxBodyBytes"/>.
/// </summary>
public static class OtlpHttpReceiver
{
    public const int MaxBodyBytes = 8 * 1024 * 1024;
    private const string Protobuf = "application/x-protobuf";

    /// <summary>Maps the three OTLP/HTTP export routes; each requires <paramref name="apiKey"/> in <c>x-otlp-api-key</c>.</summary>
    public static IEndpointRouteBuilder MapOtlpHttp(this IEndpointRouteBuilder endpoints, TelemetryStore store, OtlpApiKey apiKey)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(apiKey);
        endpoints.MapPost("/v1/traces", context => ReceiveAsync(context, apiKey, ExportTraceServiceRequest.Parser, store.Add, new ExportTraceServiceResponse()));
        endpoints.MapPost("/v1/metrics", context => ReceiveAsync(context, apiKey, ExportMetricsServiceRequest.Parser, store.Add, new ExportMetricsServiceResponse()));
        endpoints.MapPost("/v1/logs", context => ReceiveAsync(context, apiKey, ExportLogsServiceRequest.Parser, store.Add, new ExportLogsServiceResponse()));
        return endpoints;
    }

    private static async Task ReceiveAsync<T>(HttpContext context, OtlpApiKey apiKey, MessageParser<T> parser, Action<T> add, IMessage response)
        where T : IMessage<T>
    {
        if (!apiKey.IsAuthorized(context.Request.Headers))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync($"OTLP/HTTP here requires the {OtlpApiKey.HeaderName} header.", context.RequestAborted);
            return;
        }

        if (!string.Equals(context.Request.ContentType?.Split(';')[0].Trim(), Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await context.Response.WriteAsync($"OTLP/HTTP here takes {Protobuf}.", context.RequestAborted);
            return;
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return;
        }

        // The body in one array from the shared pool, sized by Content-Length (the SDKs send it): a 2 MB export read
        // through a growing MemoryStream left ~4 MB of large-object garbage per request, which the GC keeps committed.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp((context.Request.ContentLength ?? 0) + 1, 16 * 1024, MaxBodyBytes + 1L));
        try
        {
            var length = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted)) > 0)
            {
                length += read;
                if (length > MaxBodyBytes)
                {
                    context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                    return;
                }

                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, MaxBodyBytes + 1L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            T request;
            try
            {
                request = parser.ParseFrom(buffer.AsSpan(0, length));
            }
            catch (InvalidProtocolBufferException)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("The body is not a valid OTLP export request.", context.RequestAborted);
                return;
            }

            add(request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        context.Response.ContentType = Protobuf;
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }
}
