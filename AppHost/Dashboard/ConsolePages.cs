using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmartHub.Hosting.Dashboard;

/// <summary>Console logs per resource, live: the page follows a server-sent event stream of the resource's output.</summary>
internal static class ConsolePages
{
    /// <summary>Lines sent on connecting (the rest of what is held stays on the server).</summary>
    private const int Backlog = 1000;

    public static IEndpointRouteBuilder MapConsolePages(this IEndpointRouteBuilder endpoints, DashboardResources resources)
    {
        endpoints.MapGet("/console", (string? resource) =>
        {
            var names = resources.Snapshots.Select(s => s.Name).ToList();
            var chosen = resource is not null && names.Contains(resource) ? resource : names.FirstOrDefault(n => resources.IsControllable(n));
            var body = $"""
                <h1>Console logs</h1>
                <form method="get" action="/console" class="filters" data-autosubmit>
                  {Html.Select("resource", "Resource", names, chosen, "(choose)")}
                  <noscript><button type="submit">Show</button></noscript>
                </form>
                {(chosen is null ? "<p>No resource.</p>" : $"<pre class=\"console\" id=\"console\" data-stream=\"/console/stream?resource={Html.U(chosen)}\" aria-live=\"polite\"></pre>")}
                """;
            return Html.Page("Console", "/console", body);
        });

        endpoints.MapGet("/console/stream", async (HttpContext context, string resource) =>
        {
            if (resources.Find(resource) is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            var log = resources.GetLog(resource);
            var after = long.TryParse(context.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : 0;
            var cancellationToken = context.RequestAborted;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.WriteAsync("retry: 1000\n\n", cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken);
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var lines = log.Since(after, Backlog);
                    foreach (var line in lines)
                    {
                        // One event per line: its sequence as the id (a reconnect resumes after it), the text as data.
                        await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id: {line.Sequence}\ndata: {line.Text.ReplaceLineEndings(" ")}\n\n"), cancellationToken);
                        after = line.Sequence;
                    }

                    if (lines.Count > 0)
                    {
                        await context.Response.Body.FlushAsync(cancellationToken);
                    }

                    await log.WaitForLinesAsync(after, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        });
        return endpoints;
    }
}
