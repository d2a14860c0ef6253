using System.ComponentModel.DataAnnotations;
using SmartHub.ServiceDefaults.Streams;

namespace SmartHub.CoreService.Usage;

/// <summary>
/// Section "Usage": how CoreService takes usage records from the Redis stream (McpServer's <c>Usage:Recorder:StreamKey</c>,
/// <see cref="StreamConsumerOptions"/>), and the analytics limits.
/// </summary>
public sealed class UsageOptions() : StreamConsumerOptions("usage:records", "core-usage", readCount: 16)
{
    public const string SectionName = "Usage";

    /// <summary>The longest period one analytics query may cover.</summary>
    [Range(1, 3_660)]
    public int MaxRangeDays { get; set; } = 366;

    /// <summary>The period of a query without <c>from</c>: the last N days.</summary>
    [Range(1, 3_660)]
    public int DefaultRangeDays { get; set; } = 30;
}
