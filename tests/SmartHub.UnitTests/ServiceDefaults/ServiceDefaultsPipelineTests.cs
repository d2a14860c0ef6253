using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Correlation;
using SmartHub.ServiceDefaults.Http;
using SmartHub.Tests.Shared;

namespace SmartHub.UnitTests.ServiceDefaults;

/// <summary>A real Kestrel app on 127.0.0.1:0 with the service defaults, in Development on purpose.</summary>
public sealed class ServiceDefaultsAppFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public bool FlakyIsHealthy { get; set; } = true;

    public CapturingLoggerProvider Logs { get; } = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Development,
            ApplicationName = "SmartHub.UnitTests",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        // As in every service, a logger is on (here one that keeps warnings and errors in memory): ASP.NET Core starts
        // the request activity that gives logs and ProblemDetails their W3C trace id whenever logging is on.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Logs);
        builder.Services.AddHealthChecks().AddCheck(
            "flaky",
            () => FlakyIsHealthy ? HealthCheckResult.Healthy("fine") : HealthCheckResult.Unhealthy("flaky: connection refused"),
            ["ready"]);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/boom", string () => throw new InvalidOperationException("secret-internal-detail"));
        app.MapGet("/echo-header", (HttpContext context) => context.Request.Headers[CorrelationId.HeaderName].ToString());
        app.MapGet("/call-self", async (IHttpClientFactory factory) =>
            await factory.CreateClient().GetStringAsync(new Uri("http://self/echo-header")));

        await app.StartAsync();
        var address = app.Urls.First();
        app.Configuration["services:self:http:0"] = address;

        _app = app;
        Client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

public sealed class ServiceDefaultsPipelineTests(ServiceDefaultsAppFixture fixture) : IClassFixture<ServiceDefaultsAppFixture>
{
    [Fact]
    public async Task Metrics_answer_prometheus_text_with_request_durations_and_runtime_but_not_the_scrapes_themselves()
    {
        (await fixture.Client.GetAsync("/echo-header")).EnsureSuccessStatusCode();

        // A request's duration is recorded as it ends, just after its response has left.
        PrometheusExposition scrape;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            using var response = await fixture.Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            scrape = PrometheusExposition.Parse(await response.Content.ReadAsStringAsync());
        }
        while (!scrape.Named("http_server_request_duration_seconds_count").Any(s => s.Labels.GetValueOrDefault("http_route") == "/echo-header")
            && DateTime.UtcNow < deadline);

        Assert.Contains(scrape.Named("http_server_request_duration_seconds_bucket"), s =>
            s.Labels.GetValueOrDefault("http_route") == "/echo-header" && s.Labels["le"] == "0.5" && s.Labels["http_response_status_code"] == "200");
        Assert.DoesNotContain(scrape.Named("http_server_request_duration_seconds_count"), s => s.Labels.GetValueOrDefault("http_route") == "/metrics");
        Assert.NotEmpty(scrape.Named("dotnet_process_cpu_time_seconds_total"));
        Assert.NotEmpty(scrape.Named("dotnet_process_memory_working_set_bytes"));
    }

    [Fact]
    public async Task Correlation_id_is_echoed_and_propagated_to_outgoing_calls()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/call-self");
        request.Headers.Add(CorrelationId.HeaderName, "req-42");

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("req-42", Assert.Single(response.Headers.GetValues(CorrelationId.HeaderName)));
        Assert.Equal("req-42", await response.Content.ReadAsStringAsync()); // resolved http://self and carried the id
    }

    [Fact]
    public async Task Malformed_correlation_id_is_replaced_by_a_generated_one()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo-header");
        request.Headers.TryAddWithoutValidation(CorrelationId.HeaderName, "bad id;drop table");

        using var response = await fixture.Client.SendAsync(request);

        var echoed = Assert.Single(response.Headers.GetValues(CorrelationId.HeaderName));
        Assert.NotEqual("bad id;drop table", echoed);
        Assert.True(CorrelationId.IsValid(echoed));
    }

    [Fact]
    public async Task Unhandled_exception_is_a_problem_without_stack_trace_even_in_development()
    {
        using var response = await fixture.Client.GetAsync(new Uri("/boom", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("secret-internal-detail", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(500, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(32, problem.RootElement.GetProperty("traceId").GetString()!.Length);
        var correlationId = response.Headers.GetValues(CorrelationId.HeaderName).Single();
        Assert.Equal(correlationId, problem.RootElement.GetProperty("correlationId").GetString());

        // The error log line carries the request's correlation id (log scope) and trace id.
        var traceId = problem.RootElement.GetProperty("traceId").GetString()!;
        Assert.Contains(fixture.Logs.Entries, e => e.Level == LogLevel.Error
            && e.Scopes.Contains($"CorrelationId:{correlationId}", StringComparison.Ordinal)
            && e.Scopes.Contains(traceId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_route_is_a_404_problem()
    {
        using var response = await fixture.Client.GetAsync(new Uri("/nowhere", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_reports_every_check_and_turns_503_when_one_is_unhealthy()
    {
        try
        {
            using var healthy = await fixture.Client.GetAsync(new Uri("/health", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
            Assert.Contains("no-store", healthy.Headers.CacheControl?.ToString(), StringComparison.Ordinal);

            fixture.FlakyIsHealthy = false;
            using var unhealthy = await fixture.Client.GetAsync(new Uri("/health", UriKind.Relative));
            using var report = JsonDocument.Parse(await unhealthy.Content.ReadAsStringAsync());

            Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
            Assert.Equal("Unhealthy", report.RootElement.GetProperty("status").GetString());
            Assert.True(report.RootElement.GetProperty("totalDurationMs").GetDouble() >= 0);
            var flaky = report.RootElement.GetProperty("checks").EnumerateArray()
                .Single(c => c.GetProperty("name").GetString() == "flaky");
            Assert.Equal("Unhealthy", flaky.GetProperty("status").GetString());
            Assert.Equal("flaky: connection refused", flaky.GetProperty("description").GetString());
            Assert.True(flaky.TryGetProperty("durationMs", out _));
        }
        finally
        {
            fixture.FlakyIsHealthy = true;
        }
    }

    [Fact]
    public async Task Alive_only_runs_liveness_checks()
    {
        fixture.FlakyIsHealthy = false;
        try
        {
            using var response = await fixture.Client.GetAsync(new Uri("/alive", UriKind.Relative));
            using var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(["self"], report.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        }
        finally
        {
            fixture.FlakyIsHealthy = true;
        }
    }
}

public sealed class HttpClientDefaultsOptionsTests
{
    [Fact]
    public void Defaults_are_30_seconds_total_and_3_retries()
    {
        var options = new HttpClientDefaultsOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), options.TotalTimeout);
        Assert.Equal(3, options.MaxRetryAttempts);
    }

    [Fact]
    public async Task Invalid_configuration_fails_at_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Configuration["HttpClientDefaults:MaxRetryAttempts"] = "50";
        builder.AddServiceDefaults();
        builder.Logging.ClearProviders();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("MaxRetryAttempts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_total_timeout_applies_to_factory_clients()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["HttpClientDefaults:TotalTimeout"] = "00:00:07";
        builder.AddServiceDefaults();
        builder.Logging.ClearProviders();
        using var host = builder.Build();

        using var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("any");

        Assert.Equal(TimeSpan.FromSeconds(7), client.Timeout);
    }
}

/// <summary>Keeps warnings and errors with their scopes, as a JSON console logger with scopes would print them.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider? _scopes;

    public System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level, string Message, string Scopes)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var scopes = new System.Text.StringBuilder();
            owner._scopes?.ForEachScope((scope, text) => text.Append(scope).Append(" | "), scopes);
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception), scopes.ToString()));
        }
    }
}
