using System.ComponentModel.DataAnnotations;

namespace SmartHub.CoreService.Usage;

/// <summary>Section "Usage": how CoreService takes usage records from the Redis stream, and the analytics limits.</summary>
public sealed class UsageOptions
{
    public const string SectionName = "Usage";

    /// <summary>The stream McpServer writes to (its <c>Usage:Recorder:StreamKey</c>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string StreamKey { get; set; } = "usage:records";

    /// <summary>Entries that cannot be stored (malformed, invalid records) go here with the reason, instead of vanishing.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DeadLetterStreamKey { get; set; } = "usage:records:dead";

    /// <summary>The consumer group every CoreService replica reads in: each entry goes to one replica.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConsumerGroup { get; set; } = "core-usage";

    /// <summary>Stream entries (each a batch of records) read per round.</summary>
    [Range(1, 1_000)]
    public int ReadCount { get; set; } = 16;

    /// <summary>How long the reader waits when the stream is empty (reads do not block: the Redis connection is shared).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Entries another consumer read but has not acknowledged for this long are taken over (it crashed).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a replica looks for such entries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest period one analytics query may cover.</summary>
    [Range(1, 3_660)]
    public int MaxRangeDays { get; set; } = 366;

    /// <summary>The period of a query without <c>from</c>: the last N days.</summary>
    [Range(1, 3_660)]
    public int DefaultRangeDays { get; set; } = 30;
}
