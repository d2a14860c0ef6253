using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmartHub.Hosting.Dashboard;

/// <summary>The resources view: state, health, PID, start time, restarts, endpoints, environment; stop, start, restart.</summary>
internal static class ResourcePages
{
    public static IEndpointRouteBuilder MapResourcePages(this IEndpointRouteBuilder endpoints, DashboardResources resources)
    {
        endpoints.MapGet("/", () => Html.Page("Resources", "/", $"""
            <h1>Resources</h1>
            <table class="grid" id="resources">
              <thead><tr><th>Name</th><th>Type</th><th>State</th><th>Health</th><th>PID</th><th>Started</th><th>Restarts</th><th>Endpoint</th><th>Actions</th></tr></thead>
              <tbody data-refresh="/resources/rows" data-interval="2000">{Rows(resources)}</tbody>
            </table>
            """));

        // The table's body alone: the page refreshes it every 2 s.
        endpoints.MapGet("/resources/rows", () => Results.Content(Rows(resources), "text/html; charset=utf-8"));

        endpoints.MapGet("/resources/{name}", (string name) => resources.Find(name) is { } snapshot
            ? Html.Page(name, "/", Details(resources, snapshot))
            : NotFound(name));

        endpoints.MapGet("/resources/{name}/env", (string name, string? key) =>
        {
            if (resources.Find(name) is null || key is null)
            {
                return NotFound(name);
            }

            var variable = resources.Environment(name).FirstOrDefault(e => e.Key == key);
            return variable.Key is null
                ? Results.NotFound()
                : Results.Text(variable.Value, "text/plain; charset=utf-8");
        });

        endpoints.MapPost("/resources/{name}/{action}", async (string name, string action, HttpContext context) =>
        {
            if (resources.Find(name) is null)
            {
                return NotFound(name);
            }

            if (!resources.IsControllable(name))
            {
                return Results.Problem($"'{name}' has no process of its own to stop or start.", statusCode: StatusCodes.Status400BadRequest);
            }

            var cancellationToken = context.RequestAborted;
            switch (action)
            {
                case "stop":
                    await resources.StopAsync(name, cancellationToken);
                    break;
                case "start":
                    // The start runs on: the page shows Starting, then Running once healthy.
                    _ = resources.StartAsync(name, CancellationToken.None);
                    break;
                case "restart":
                    _ = resources.RestartAsync(name, CancellationToken.None);
                    break;
                default:
                    return Results.Problem($"Unknown action '{action}': stop, start or restart.", statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Redirect(context.Request.Headers.Referer.ToString() is { Length: > 0 } back && Uri.TryCreate(back, UriKind.Absolute, out var uri) ? uri.PathAndQuery : "/");
        }).DisableAntiforgery();
        return endpoints;
    }

    private static IResult NotFound(string name) =>
        Html.Page("Not found", "/", $"<h1>Not found</h1><p>There is no resource named <code>{Html.E(name)}</code>.</p>", StatusCodes.Status404NotFound);

    private static string Rows(DashboardResources resources)
    {
        var html = new StringBuilder();
        foreach (var s in resources.Snapshots)
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr data-resource="{Html.E(s.Name)}">
                <td><a href="/resources/{Html.U(s.Name)}">{Html.E(s.Name)}</a></td>
                <td>{Html.E(s.Kind)}</td>
                <td><span class="state state-{Html.E(s.State.ToLowerInvariant())}">{Html.E(s.State)}</span>{(s.ExitCode is { } code ? $" <small>exit {code}</small>" : "")}</td>
                <td><span class="health health-{s.Health.ToString().ToLowerInvariant()}" title="{Html.E(s.HealthDescription)}">{s.Health}</span></td>
                <td>{s.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "-"}</td>
                <td>{Html.DateTime(s.StartedAt)}</td>
                <td>{s.RestartCount}</td>
                <td>{Endpoint(s.Endpoint)}</td>
                <td class="actions">{Actions(resources, s)}</td>
                </tr>
                """);
        }

        return html.ToString();
    }

    private static string Endpoint(string? endpoint) => endpoint switch
    {
        null => "-",
        _ when endpoint.StartsWith("http", StringComparison.Ordinal) => $"<a href=\"{Html.E(endpoint)}\" target=\"_blank\" rel=\"noopener noreferrer\">{Html.E(endpoint)}</a>",
        _ => $"<code>{Html.E(endpoint)}</code>",
    };

    private static string Actions(DashboardResources resources, ResourceSnapshot s)
    {
        if (!resources.IsControllable(s.Name))
        {
            return string.Empty;
        }

        var stopped = s.State is KnownResourceStates.Finished or KnownResourceStates.FailedToStart or KnownResourceStates.Exited or KnownResourceStates.NotStarted;
        string Button(string action, string label, bool enabled) =>
            $"<form method=\"post\" action=\"/resources/{Html.U(s.Name)}/{action}\"><button type=\"submit\" name=\"{action}\"{(enabled ? "" : " disabled")}>{label}</button></form>";
        return Button("stop", "Stop", !stopped) + Button("start", "Start", stopped) + Button("restart", "Restart", !stopped);
    }

    private static string Details(DashboardResources resources, ResourceSnapshot s)
    {
        var environment = new StringBuilder();
        foreach (var (key, value, secret) in resources.Environment(s.Name))
        {
            var cell = secret
                ? $"<span class=\"masked\">{DashboardResources.Masked}</span> <button type=\"button\" class=\"reveal\" data-reveal=\"/resources/{Html.U(s.Name)}/env?key={Html.U(key)}\">Reveal</button>"
                : Html.E(value);
            environment.Append(CultureInfo.InvariantCulture, $"<tr><th>{Html.E(key)}</th><td>{cell}</td></tr>");
        }

        return $"""
            <h1>{Html.E(s.Name)} <small>{Html.E(s.Kind)}</small></h1>
            <p class="links">
              <a href="/console?resource={Html.U(s.Name)}">Console logs</a>
              <a href="/structuredlogs?resource={Html.U(s.Name)}">Structured logs</a>
              <a href="/traces?resource={Html.U(s.Name)}">Traces</a>
              <a href="/metrics?resource={Html.U(s.Name)}">Metrics</a>
            </p>
            <table class="attributes"><tbody>
              <tr><th>State</th><td><span class="state state-{Html.E(s.State.ToLowerInvariant())}">{Html.E(s.State)}</span></td></tr>
              <tr><th>Health</th><td>{s.Health}{(s.HealthDescription is null ? "" : $" — {Html.E(s.HealthDescription)}")}</td></tr>
              <tr><th>PID</th><td>{s.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "-"}</td></tr>
              <tr><th>Started</th><td>{Html.DateTime(s.StartedAt)}</td></tr>
              <tr><th>Restarts</th><td>{s.RestartCount}</td></tr>
              <tr><th>Exit code</th><td>{s.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-"}</td></tr>
              <tr><th>Endpoint</th><td>{Endpoint(s.Endpoint)}</td></tr>
            </tbody></table>
            <div class="actions">{Actions(resources, s)}</div>
            <h2>Environment</h2>
            {(environment.Length == 0 ? "<p>No process environment (not started, or no process of its own).</p>" : $"<table class=\"attributes env\"><tbody>{environment}</tbody></table>")}
            """;
    }
}
