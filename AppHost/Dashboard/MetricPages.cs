using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.Hosting.Dashboard;

/// <summary>Metrics: the instruments of each resource, and a chart (server-rendered SVG) of one over time.</summary>
internal static class MetricPages
{
    private const int MaxSeriesCharted = 10;
    private const double Width = 860, Height = 260, Left = 70, Right = 10, Top = 10, Bottom = 30;
    private static readonly string[] Colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

    public static IEndpointRouteBuilder MapMetricPages(this IEndpointRouteBuilder endpoints, TelemetryStore store)
    {
        endpoints.MapGet("/metrics", (string? resource, string? instrument) =>
        {
            var names = store.Resources();
            resource = resource is not null && names.Contains(resource) ? resource : names.Count > 0 ? names[0] : null;
            var instruments = resource is null ? [] : store.Instruments(resource);
            var list = new StringBuilder();
            foreach (var i in instruments)
            {
                var current = i.Name == instrument ? " aria-current=\"page\"" : "";
                list.Append(CultureInfo.InvariantCulture, $"<li><a href=\"/metrics?resource={Html.U(i.Resource)}&amp;instrument={Html.U(i.Name)}\"{current}>{Html.E(i.Name)}</a> <small>{Html.E(i.Kind)}{(i.Unit.Length > 0 ? ", " + Html.E(i.Unit) : "")}{(i.SeriesCount > 1 ? $", {i.SeriesCount} series" : "")}</small></li>");
            }

            var chart = instrument is null || resource is null
                ? "<p>Choose an instrument.</p>"
                : Chart(instrument, store.Metrics(resource, instrument));
            var body = $"""
                <h1>Metrics</h1>
                <form method="get" action="/metrics" class="filters" data-autosubmit>
                  {Html.Select("resource", "Resource", names, resource, "(choose)")}
                  <noscript><button type="submit">Show</button></noscript>
                </form>
                <div class="metrics">
                  <ul class="instruments" id="instruments">{(list.Length == 0 ? "<li>No metrics yet.</li>" : list)}</ul>
                  <section class="chart" id="chart">{chart}</section>
                </div>
                """;
            return Html.Page("Metrics", "/metrics", body);
        });
        return endpoints;
    }

    private static string Chart(string instrument, IReadOnlyList<MetricSeries> all)
    {
        var series = all.Where(s => s.Points.Count > 0).OrderByDescending(s => s.Points[^1].Value).Take(MaxSeriesCharted).ToList();
        if (series.Count == 0)
        {
            return $"<h2>{Html.E(instrument)}</h2><p>No points yet.</p>";
        }

        var from = series.Min(s => s.Points[0].Time);
        var to = series.Max(s => s.Points[^1].Time);
        var min = Math.Min(0, series.Min(s => s.Points.Min(p => p.Value)));
        var max = series.Max(s => s.Points.Max(p => p.Value));
        max = max <= min ? min + 1 : max;
        var span = Math.Max((to - from).TotalSeconds, 1);
        double X(DateTimeOffset t) => Left + (t - from).TotalSeconds / span * (Width - Left - Right);
        double Y(double v) => Top + (1 - (v - min) / (max - min)) * (Height - Top - Bottom);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"plot\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Html.E(instrument)} over time\">");
        for (var i = 0; i <= 4; i++)
        {
            var v = min + (max - min) * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"gridline\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Y(v):0.#}\" y2=\"{Y(v):0.#}\"/><text class=\"axis\" x=\"{Left - 6}\" y=\"{Y(v) + 4:0.#}\" text-anchor=\"end\">{Html.E(Html.Number(v))}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Left}\" y=\"{Height - 8}\">{Html.Time(from)}</text><text class=\"axis\" x=\"{Width - Right}\" y=\"{Height - 8}\" text-anchor=\"end\">{Html.Time(to)}</text>");
        var legend = new StringBuilder();
        for (var i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var color = Colors[i % Colors.Length];
            var points = string.Join(' ', s.Points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Time):0.#},{Y(p.Value):0.#}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{points}\"/>");
            var label = s.Attributes.Count == 0 ? "(no attributes)" : string.Join(", ", s.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
            legend.Append(CultureInfo.InvariantCulture, $"<tr><td><span class=\"swatch\" style=\"background:{color}\"></span></td><td>{Html.E(label)}</td><td class=\"num\">{Html.E(Html.Number(s.Points[^1].Value))}</td><td class=\"num\">{Html.E(Html.Number(s.Points.Min(p => p.Value)))}</td><td class=\"num\">{Html.E(Html.Number(s.Points.Max(p => p.Value)))}</td></tr>");
        }

        svg.Append("</svg>");
        var first = series[0];
        var note = first.Kind == "histogram" ? "mean of each export interval" : first.Kind == "sum" ? "running total" : "value";
        return $"""
            <h2>{Html.E(instrument)} <small>{Html.E(first.Unit)} · {note}{(all.Count > series.Count ? $" · the {series.Count} highest of {all.Count} series" : "")}</small></h2>
            {svg}
            <table class="grid legend"><thead><tr><th></th><th>Series</th><th>Last</th><th>Min</th><th>Max</th></tr></thead><tbody>{legend}</tbody></table>
            """;
    }
}
