using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting.Dashboard;

/// <summary>Structured logs (OTLP log records), newest first, filtered by resource, minimum level, text and trace id.</summary>
internal static class StructuredLogPages
{
    private const int Limit = 500;
    private static readonly string[] Levels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical"];

    public static IEndpointRouteBuilder MapStructuredLogPages(this IEndpointRouteBuilder endpoints, TelemetryStore store)
    {
        endpoints.MapGet("/structuredlogs", (string? resource, string? level, string? text, string? traceId) =>
        {
            resource = Blank(resource);
            text = Blank(text);
            traceId = Blank(traceId)?.Trim().ToLowerInvariant();
            var minimum = Array.IndexOf(Levels, level);
            bool Matches(LogRecordView l) =>
                (resource is null || l.Resource == resource)
                && (minimum <= 0 || Array.IndexOf(Levels, l.Level) >= minimum)
                && (text is null || l.Message.Contains(text, StringComparison.OrdinalIgnoreCase) || (l.Category?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false));
            // By trace id the store compares ids as numbers, not as a string made for each record.
            var logs = traceId is null ? store.Logs(Matches, Limit) : store.Logs(traceId, Matches, Limit);
            var rows = new StringBuilder();
            foreach (var log in logs)
            {
                rows.Append(CultureInfo.InvariantCulture, $"""
                    <tr class="level-{Html.E(log.Level.ToLowerInvariant())}">
                    <td>{Html.Time(log.Time)}</td>
                    <td>{Html.E(log.Resource)}</td>
                    <td><span class="level">{Html.E(log.Level)}</span></td>
                    <td><details><summary>{Html.E(log.Message)}</summary>{(log.Category is null ? "" : $"<p><small>{Html.E(log.Category)}</small></p>")}{Html.Attributes(log.Attributes)}</details></td>
                    <td>{(log.TraceId is null ? "" : $"<a class=\"trace-link\" href=\"/traces/{Html.U(log.TraceId)}\">{Html.E(log.TraceId[..8])}</a>")}</td>
                    </tr>
                    """);
            }

            var body = $"""
                <h1>Structured logs</h1>
                <form method="get" action="/structuredlogs" class="filters">
                  {Html.Select("resource", "Resource", store.Resources(), resource)}
                  {Html.Select("level", "Minimum level", Levels, level, "(any)")}
                  <label>Text <input name="text" value="{Html.E(text)}" placeholder="message or category"></label>
                  <label>Trace id <input name="traceId" value="{Html.E(traceId)}" size="34" placeholder="32 hex digits"></label>
                  <button type="submit">Filter</button> <a href="/structuredlogs">Clear</a>
                </form>
                <p class="count">{(logs.Count == Limit ? $"The newest {Limit} matching records." : $"{logs.Count} matching record(s).")}</p>
                <table class="grid logs" id="logs">
                  <thead><tr><th>Time</th><th>Resource</th><th>Level</th><th>Message</th><th>Trace</th></tr></thead>
                  <tbody>{rows}</tbody>
                </table>
                """;
            return Html.Page("Structured logs", "/structuredlogs", body);
        });
        return endpoints;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
