// Dashboard benchmark load driver; tests/benchmarks/dashboard.sh runs it against the AppHost's OTLP receiver. Sends
// --spans spans (5 per trace, 3 resources) and one log record per trace through the OpenTelemetry SDK's OTLP exporter,
// never more in flight than the batch processors' queues hold, so nothing is dropped; exits 1 unless all were exported.
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmartHub.Benchmarks.OtlpLoad;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

const int ScheduledDelayMilliseconds = 200;
const int ExportTimeoutMilliseconds = 30_000;
// Replicas of the AppHost's projects are named by service.instance.id "{resource}-{32 hex}"; a new id per run.
var run = Guid.NewGuid().ToString("N");
ResourceBuilder Resource(string name) => ResourceBuilder.CreateEmpty().AddService(name, serviceVersion: "1.0.0", serviceInstanceId: $"{name}-{run}");

var spanExporters = new List<CountingExporter<Activity>>();
var spanProcessors = new List<BatchActivityExportProcessor>();
var tracers = new List<TracerProvider>();
var sources = new List<ActivitySource>();
foreach (var name in new[] { "gateway", "mcp", "core" })
{
    var otlp = new OtlpExporterOptions();
    options.Configure(otlp, "traces");
    var exporter = new CountingExporter<Activity>(new OtlpTraceExporter(otlp));
    var processor = new BatchActivityExportProcessor(exporter, options.MaxQueueSize, ScheduledDelayMilliseconds, ExportTimeoutMilliseconds, options.MaxExportBatchSize);
    var source = new ActivitySource($"SmartHub.Benchmarks.OtlpLoad.{name}");
    spanExporters.Add(exporter);
    spanProcessors.Add(processor);
    sources.Add(source);
    tracers.Add(Sdk.CreateTracerProviderBuilder().AddSource(source.Name).SetResourceBuilder(Resource(name)).AddProcessor(processor).Build());
}

var logOtlp = new OtlpExporterOptions();
options.Configure(logOtlp, "logs");
var logExporter = new CountingExporter<LogRecord>(new OtlpLogExporter(logOtlp));
var logProcessor = new BatchLogRecordExportProcessor(logExporter, options.MaxQueueSize, ScheduledDelayMilliseconds, ExportTimeoutMilliseconds, options.MaxExportBatchSize);
var loggers = LoggerFactory.Create(logging => logging.AddOpenTelemetry(o =>
{
    o.IncludeFormattedMessage = true;
    o.SetResourceBuilder(Resource("core"));
    o.AddProcessor(logProcessor);
}));

var shape = new TraceShape(sources[0], sources[1], sources[2], loggers.CreateLogger("SmartHub.CoreService.Conversations"));
long SpansDone() => spanExporters.Sum(e => e.Exported + e.Failed);
long LogsDone() => logExporter.Exported + logExporter.Failed;

Console.WriteLine($"OtlpLoad: {options.Spans:N0} spans in {options.Traces:N0} traces of {TraceShape.SpansPerTrace} spans (3 resources) and " +
    $"{options.Traces * TraceShape.LogsPerTrace:N0} log records, {options.ProtocolName} to {options.Endpoint}");
// The batch processors drop what does not fit their queues: the gateway's gets 2 of 5 spans, so 60% of a queue in
// flight in all keeps each well inside its own.
var inFlight = options.MaxQueueSize * 6L / 10;
var clock = Stopwatch.StartNew();
for (var i = 0; i < options.Traces; i++)
{
    while ((long)i * TraceShape.SpansPerTrace - SpansDone() > inFlight || (long)i * TraceShape.LogsPerTrace - LogsDone() > inFlight)
    {
        Thread.Sleep(1);
    }

    shape.Emit(i);
}

var generated = clock.Elapsed;
var logs = (long)options.Traces * TraceShape.LogsPerTrace;
var flushed = spanProcessors.All(p => p.ForceFlush(120_000)) & logProcessor.ForceFlush(120_000);
// ForceFlush returns once the processor has taken everything out of its queue, which can be before the exporter has
// sent the last batch: wait for the exporters' answers (a span the processor dropped never gets one).
var settle = Stopwatch.StartNew();
while ((SpansDone() < options.Spans || LogsDone() < logs) && settle.Elapsed < TimeSpan.FromSeconds(30))
{
    Thread.Sleep(1);
}

var elapsed = clock.Elapsed;

var exported = spanExporters.Sum(e => e.Exported);
var failed = spanExporters.Sum(e => e.Failed);
Console.WriteLine($"generated in {generated.TotalSeconds:0.00} s, all exported (flushed) after {elapsed.TotalSeconds:0.00} s");
Console.WriteLine($"exported {exported:N0} of {options.Spans:N0} spans ({failed:N0} failed, {options.Spans - exported - failed:N0} dropped) and " +
    $"{logExporter.Exported:N0} of {logs:N0} log records ({logExporter.Failed:N0} failed): {exported / elapsed.TotalSeconds:N0} spans/s sent");

loggers.Dispose();
foreach (var tracer in tracers)
{
    tracer.Dispose();
}

foreach (var source in sources)
{
    source.Dispose();
}

return flushed && exported == options.Spans && logExporter.Exported == logs ? 0 : 1;
