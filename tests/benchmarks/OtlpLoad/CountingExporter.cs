using System.Reflection;
using OpenTelemetry;

namespace SmartHub.Benchmarks.OtlpLoad;

/// <summary>
/// Hands each batch to the real exporter and counts what it exported and what failed: the SDK's batch processor keeps
/// its received/dropped/exported counts internal, and the load must be known to have arrived whole.
/// </summary>
internal sealed class CountingExporter<T>(BaseExporter<T> inner) : BaseExporter<T>
    where T : class
{
    // The SDK sets ParentProvider (internal setter) on the exporter given to the processor, i.e. this one; the OTLP
    // exporter reads its resource (service.name, service.instance.id) from it, so it is handed on.
    private static readonly PropertyInfo ParentProviderProperty = typeof(BaseExporter<T>).GetProperty(nameof(ParentProvider))!;
    private long _exported;
    private long _failed;

    public long Exported => Interlocked.Read(ref _exported);

    public long Failed => Interlocked.Read(ref _failed);

    public override ExportResult Export(in Batch<T> batch)
    {
        if (inner.ParentProvider is null && ParentProvider is not null)
        {
            ParentProviderProperty.SetValue(inner, ParentProvider);
        }

        var result = inner.Export(batch);
        Interlocked.Add(ref result == ExportResult.Success ? ref _exported : ref _failed, batch.Count);
        return result;
    }

    protected override bool OnForceFlush(int timeoutMilliseconds) => inner.ForceFlush(timeoutMilliseconds);

    protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
