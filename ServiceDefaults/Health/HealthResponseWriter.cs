using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartHub.ServiceDefaults.Health;

/// <summary>
/// Writes a health report as
/// <c>{"status","totalDurationMs","checks":[{"name","status","description","durationMs"}]}</c>.
/// Exceptions are never written (they can carry host names, SQL or worse); descriptions are
/// written by our own checks and say what failed.
/// </summary>
public static class HealthResponseWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);

        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.Body.WriteAsync(Serialize(report), context.RequestAborted).AsTask();
    }

    public static byte[] Serialize(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteNumber("totalDurationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
            json.WriteStartArray("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteString("status", entry.Status.ToString());
                if (entry.Description is null)
                {
                    json.WriteNull("description");
                }
                else
                {
                    json.WriteString("description", entry.Description);
                }

                json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
