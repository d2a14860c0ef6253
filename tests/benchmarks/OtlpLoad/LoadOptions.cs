using System.Globalization;
using OpenTelemetry.Exporter;

namespace SmartHub.Benchmarks.OtlpLoad;

/// <summary>The driver's arguments: <c>--spans N --endpoint URL [--headers "k=v,..."] [--protocol grpc|http/protobuf]</c>.</summary>
internal sealed record LoadOptions(int Spans, Uri Endpoint, string? Headers, OtlpExportProtocol Protocol, int MaxQueueSize, int MaxExportBatchSize)
{
    public const int SpansPerTrace = TraceShape.SpansPerTrace;

    public int Traces => Spans / SpansPerTrace;

    public string ProtocolName => Protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf";

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length)
            {
                throw new ArgumentException($"Expected --name value pairs, got '{args[i]}'. {Usage}");
            }

            values[args[i][2..]] = args[++i];
        }

        var spans = values.TryGetValue("spans", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 100_000;
        if (spans < SpansPerTrace || spans % SpansPerTrace != 0)
        {
            throw new ArgumentException($"--spans must be a positive multiple of {SpansPerTrace} (each trace has {SpansPerTrace} spans).");
        }

        var endpoint = values.TryGetValue("endpoint", out var e) ? new Uri(e) : throw new ArgumentException($"--endpoint is required. {Usage}");
        var protocol = values.GetValueOrDefault("protocol", "grpc") switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" or "http" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new ArgumentException($"--protocol is grpc or http/protobuf, not '{other}'."),
        };
        var queue = values.TryGetValue("max-queue-size", out var q) ? int.Parse(q, CultureInfo.InvariantCulture) : 100_000;
        var batch = values.TryGetValue("max-export-batch-size", out var b) ? int.Parse(b, CultureInfo.InvariantCulture) : 2048;
        return new LoadOptions(spans, endpoint, values.GetValueOrDefault("headers"), protocol, queue, Math.Min(batch, queue));
    }

    /// <summary>The exporter's settings for one signal: OTLP/HTTP set in code takes the signal's full URL.</summary>
    public void Configure(OtlpExporterOptions exporter, string signal)
    {
        exporter.Protocol = Protocol;
        exporter.Endpoint = Protocol == OtlpExportProtocol.Grpc ? Endpoint : new Uri(Endpoint, $"/v1/{signal}");
        if (!string.IsNullOrEmpty(Headers))
        {
            exporter.Headers = Headers;
        }
    }

    private const string Usage = "Usage: OtlpLoad --spans 100000 --endpoint http://127.0.0.1:18889 [--headers x-otlp-api-key=KEY] [--protocol grpc|http/protobuf] [--max-queue-size 100000] [--max-export-batch-size 2048]";
}
