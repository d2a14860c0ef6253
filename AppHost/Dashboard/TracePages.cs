using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting.Dashboard;

/// <summary>The traces list and the waterfall of one trace across resources (gateway → core → postgres).</summary>
internal static class TracePages
{
    private const int Limit = 200;

    public static IEndpointRouteBuilder MapTracePages(this IEndpointRouteBuilder endpoints, TelemetryStore store, DashboardResources resources)
    {
        endpoints.MapGet("/traces", (string? resource, string? text) =>
        {
            resource = string.IsNullOrWhiteSpace(resource) ? null : resource;
            text = string.IsNullOrWhiteSpace(text) ? null : text;
            var (traces, matched) = store.TraceSummaries(resource, text, Limit);
            var rows = new StringBuilder();
            foreach (var trace in traces)
            {
                rows.Append(CultureInfo.InvariantCulture, $"""
                    <tr{(trace.ErrorCount > 0 ? " class=\"has-errors\"" : "")}>
                    <td>{Html.Time(trace.Start)}</td>
                    <td><a href="/traces/{Html.U(trace.TraceId)}">{Html.E(trace.Name)}</a> <small class="mono">{Html.E(trace.TraceId[..8])}</small></td>
                    <td>{string.Concat(trace.Resources.Select(r => $"<span class=\"resource\">{Html.E(r)}</span>"))}</td>
                    <td class="num">{Html.Duration(trace.Duration)}</td>
                    <td class="num">{trace.SpanCount}</td>
                    <td class="num">{(trace.ErrorCount > 0 ? $"<span class=\"error\">{trace.ErrorCount}</span>" : "0")}</td>
                    </tr>
                    """);
            }

            var body = $"""
                <h1>Traces</h1>
                <form method="get" action="/traces" class="filters">
                  {Html.Select("resource", "Resource", store.Resources(), resource)}
                  <label>Name <input name="text" value="{Html.E(text)}" placeholder="span name contains"></label>
                  <button type="submit">Filter</button> <a href="/traces">Clear</a>
                </form>
                <p class="count">{(matched > traces.Count ? $"The newest {traces.Count} of {matched} matching traces." : $"{matched} trace(s).")}
                  <small>{store.SpanCount:N0} spans held (at most {store.Limits.MaxSpans:N0}: the oldest leave first).</small></p>
                <table class="grid traces" id="traces">
                  <thead><tr><th>Start</th><th>Name</th><th>Resources</th><th>Duration</th><th>Spans</th><th>Errors</th></tr></thead>
                  <tbody>{rows}</tbody>
                </table>
                """;
            return Html.Page("Traces", "/traces", body);
        });

        endpoints.MapGet("/traces/{traceId}", (string traceId) =>
        {
            var spans = store.Trace(traceId.ToLowerInvariant());
            return spans.Count == 0
                ? Html.Page("Trace not found", "/traces", $"<h1>Trace not found</h1><p>No span of trace <code>{Html.E(traceId)}</code> is held (older telemetry leaves the buffer first).</p>", StatusCodes.Status404NotFound)
                : Html.Page("Trace", "/traces", Waterfall(spans, resources));
        });
        return endpoints;
    }

    private static string Waterfall(IReadOnlyList<SpanRecord> spans, DashboardResources resources)
    {
        var start = spans.Min(s => s.Start);
        var total = spans.Max(s => s.End) - start;
        var totalTicks = Math.Max(total.Ticks, 1);
        var ordered = TreeOrder(spans);
        var root = ordered[0].Span;
        var rows = new StringBuilder();
        foreach (var (span, depth) in ordered)
        {
            var left = (span.Start - start).Ticks * 100.0 / totalTicks;
            var width = Math.Max(span.Duration.Ticks * 100.0 / totalTicks, 0.3);
            var peer = Peer(span, resources);
            rows.Append(CultureInfo.InvariantCulture, $"""
                <details class="span{(span.IsError ? " error" : "")}" data-span-id="{span.SpanId}">
                <summary>
                  <span class="span-name" style="padding-left:{depth * 1.2:0.#}em"><span class="resource">{Html.E(span.Resource)}</span>{(peer is null ? "" : $" → <span class=\"resource peer\">{Html.E(peer)}</span>")} {Html.E(span.Name)}</span>
                  <span class="span-track"><span class="span-bar kind-{span.Kind.ToLowerInvariant()}" style="left:{left:0.###}%;width:{Math.Min(width, 100 - left):0.###}%"></span><span class="span-duration" style="left:{Math.Min(left, 85):0.###}%">{Html.Duration(span.Duration)}</span></span>
                </summary>
                <div class="span-details">
                  <p>{Html.E(span.Kind)} span <code>{span.SpanId}</code>{(span.ParentSpanId is null ? "" : $", parent <code>{span.ParentSpanId}</code>")}, started {Html.Time(span.Start)}{(span.StatusMessage is null ? "" : $", status: <span class=\"error\">{Html.E(span.StatusMessage)}</span>")}</p>
                  {Html.Attributes(span.Attributes)}
                </div>
                </details>
                """);
        }

        var touched = spans.Select(s => s.Resource).Concat(spans.Select(s => Peer(s, resources)).OfType<string>()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return $"""
            <h1>{Html.E(root.Name)}</h1>
            <p class="trace-summary">Trace <code id="trace-id">{spans[0].TraceId}</code> · started {Html.DateTime(start)} · {Html.Duration(total)} · {spans.Count} spans · {spans.Count(s => s.IsError)} errors ·
              resources: {string.Concat(touched.Select(r => $"<span class=\"resource\">{Html.E(r)}</span>"))}
              · <a href="/structuredlogs?traceId={Html.U(spans[0].TraceId)}">Logs of this trace</a></p>
            <div class="waterfall" id="waterfall">
              <div class="waterfall-head"><span>Span</span><span class="span-track"><span>0</span><span class="end">{Html.Duration(total)}</span></span></div>
              {rows}
            </div>
            """;
    }

    /// <summary>Depth-first from the roots (spans whose parent is not held), children by start time.</summary>
    private static List<(SpanRecord Span, int Depth)> TreeOrder(IReadOnlyList<SpanRecord> spans)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var children = spans.Where(s => s.ParentSpanId is not null && ids.Contains(s.ParentSpanId))
            .GroupBy(s => s.ParentSpanId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Start).ToList(), StringComparer.Ordinal);
        var ordered = new List<(SpanRecord, int)>(spans.Count);
        var stack = new Stack<(SpanRecord, int)>();
        foreach (var root in spans.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).OrderByDescending(s => s.Start))
        {
            stack.Push((root, 0));
        }

        while (stack.Count > 0)
        {
            var (span, depth) = stack.Pop();
            ordered.Add((span, depth));
            if (children.TryGetValue(span.SpanId, out var list))
            {
                for (var i = list.Count - 1; i >= 0; i--)
                {
                    stack.Push((list[i], depth + 1));
                }
            }
        }

        return ordered;
    }

    /// <summary>
    /// The resource a client span called when that resource sends no spans of its own (PostgreSQL, Redis): found by the
    /// port it listens on, as Aspire names "uninstrumented peers".
    /// </summary>
    private static string? Peer(SpanRecord span, DashboardResources resources)
    {
        if (span.Kind != "Client")
        {
            return null;
        }

        var port = span.Attributes.TryGetValue("server.port", out var p) ? p
            : span.Attributes.TryGetValue("net.peer.port", out var q) ? q : null;
        var peer = resources.ResourceListeningOn(port);
        return peer is not null && peer != span.Resource ? peer
            : span.Attributes.TryGetValue("db.system.name", out var db) || span.Attributes.TryGetValue("db.system", out db) ? db : null;
    }
}
