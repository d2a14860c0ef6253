using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace SmartHub.Hosting.Dashboard;

/// <summary>Server-rendered pages: the layout, encoding, and the formats every page shares.</summary>
internal static class Html
{
    private static readonly (string Path, string Title)[] Navigation =
    [
        ("/", "Resources"),
        ("/console", "Console"),
        ("/structuredlogs", "Structured logs"),
        ("/traces", "Traces"),
        ("/metrics", "Metrics"),
    ];

    /// <summary>HTML-encodes text for an element or a quoted attribute.</summary>
    public static string E(string? text) => text is null ? string.Empty : HtmlEncoder.Default.Encode(text);

    /// <summary>Encodes a query or path component.</summary>
    public static string U(string? text) => text is null ? string.Empty : Uri.EscapeDataString(text);

    public static IResult Page(string title, string? active, string body, int status = StatusCodes.Status200OK, bool signedIn = true)
    {
        var nav = signedIn
            ? string.Concat(Navigation.Select(n => $"<a href=\"{n.Path}\"{(n.Path == active ? " aria-current=\"page\"" : "")}>{E(n.Title)}</a>"))
              + "<form method=\"post\" action=\"/logout\" class=\"logout\"><button type=\"submit\">Sign out</button></form>"
            : string.Empty;
        var html = $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)} · SmartHub</title>
            <link rel="stylesheet" href="/assets/dashboard.css">
            <script src="/assets/dashboard.js" defer></script>
            </head>
            <body>
            <header><span class="brand">SmartHub</span><nav>{nav}</nav></header>
            <main>
            {body}
            </main>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-";

    public static string DateTime(DateTimeOffset? time) =>
        time is { } t ? t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-";

    public static string Duration(TimeSpan duration) => duration.TotalMilliseconds switch
    {
        < 1 => $"{duration.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture)} µs",
        < 1000 => $"{duration.TotalMilliseconds.ToString("0.##", CultureInfo.InvariantCulture)} ms",
        _ => $"{duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s",
    };

    public static string Number(double value) => value.ToString(Math.Abs(value) >= 100 ? "N0" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>A &lt;select&gt; of <paramref name="options"/> with an "all" entry; the chosen one selected.</summary>
    public static string Select(string name, string label, IEnumerable<string> options, string? chosen, string allLabel = "(all)") =>
        $"<label>{E(label)} <select name=\"{E(name)}\"><option value=\"\">{E(allLabel)}</option>"
        + string.Concat(options.Select(o => $"<option value=\"{E(o)}\"{(o == chosen ? " selected" : "")}>{E(o)}</option>"))
        + "</select></label>";

    /// <summary>A key/value table of attributes.</summary>
    public static string Attributes(IEnumerable<KeyValuePair<string, string>> attributes) =>
        "<table class=\"attributes\"><tbody>"
        + string.Concat(attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"<tr><th>{E(a.Key)}</th><td>{E(a.Value)}</td></tr>"))
        + "</tbody></table>";
}
