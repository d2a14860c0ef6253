using System.ComponentModel.DataAnnotations;

namespace SmartHub.McpServer.Chat;

/// <summary>Section <c>Chat</c>: the chat pipeline's own settings.</summary>
public sealed class ChatServiceOptions
{
    public const string SectionName = "Chat";

    /// <summary>How long a reservation holds at least (the ledger releases it after that if never settled).</summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan MinReservationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a capture or release that CoreService could not take is retried in the background.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SettlementRetryWindow { get; set; } = TimeSpan.FromMinutes(10);
}
