using SmartHub.ServiceDefaults.Metrics;

namespace SmartHub.UnitTests.Metrics;

public sealed class PrometheusNamesTests
{
    [Theory]
    // ASP.NET Core, Kestrel, HttpClient and the runtime, as the alert rules and the dashboard use them.
    [InlineData("http.server.request.duration", "s", "Histogram", "http_server_request_duration_seconds")]
    [InlineData("http.server.active_requests", "{request}", "Gauge", "http_server_active_requests")]
    [InlineData("kestrel.active_connections", "{connection}", "Gauge", "kestrel_active_connections")]
    [InlineData("http.client.request.duration", "s", "Histogram", "http_client_request_duration_seconds")]
    [InlineData("dotnet.process.cpu.time", "s", "Counter", "dotnet_process_cpu_time_seconds_total")]
    [InlineData("dotnet.process.memory.working_set", "By", "Gauge", "dotnet_process_memory_working_set_bytes")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("dotnet.process.cpu.count", "{cpu}", "Gauge", "dotnet_process_cpu_count")]
    // SmartHub's own.
    [InlineData("smarthub.gateway.ratelimit.rejected", "{request}", "Counter", "smarthub_gateway_ratelimit_rejected_total")]
    [InlineData("smarthub.mcp.chat.time_to_first_token", "s", "Histogram", "smarthub_mcp_chat_time_to_first_token_seconds")]
    // Units: converted durations, ratios, rates, unknown units; no doubled suffixes.
    [InlineData("db.latency", "ms", "Histogram", "db_latency_seconds")]
    [InlineData("cache.hit_ratio", "1", "Gauge", "cache_hit_ratio")]
    [InlineData("cache.usage", "1", "Gauge", "cache_usage_ratio")]
    [InlineData("events", "1", "Counter", "events_total")]
    [InlineData("network.io", "By/s", "Gauge", "network_io_bytes_per_second")]
    [InlineData("queue.wait.seconds", "s", "Histogram", "queue_wait_seconds")]
    [InlineData("jobs_total", "{job}", "Counter", "jobs_total")]
    [InlineData("odd-name!!with  spaces", "furlong", "Gauge", "odd_name_with_spaces_furlong")]
    [InlineData("2xx.responses", null, "Counter", "_2xx_responses_total")]
    public void Names_follow_the_OpenTelemetry_to_Prometheus_conventions(string instrument, string? unit, string type, string expected)
    {
        var (baseUnit, _) = PrometheusNames.BaseUnit(unit);

        Assert.Equal(expected, PrometheusNames.MetricName(instrument, baseUnit, Enum.Parse<PrometheusType>(type)));
    }

    [Theory]
    [InlineData("http.route", "http_route")]
    [InlineData("http.response.status_code", "http_response_status_code")]
    [InlineData("smarthub.cache.result", "smarthub_cache_result")]
    [InlineData("__reserved", "_reserved")]
    [InlineData("1st", "key_1st")]
    [InlineData("with-dash and:colon", "with_dash_and_colon")]
    public void Label_names_are_sanitized(string key, string expected) => Assert.Equal(expected, PrometheusNames.LabelName(key));

    [Theory]
    [InlineData("ms", 1e3)]
    [InlineData("us", 1e6)]
    [InlineData("ns", 1e9)]
    [InlineData("s", 1)]
    [InlineData("By", 1)]
    public void Sub_second_units_are_divided_into_seconds(string unit, double divisor) =>
        Assert.Equal(divisor, PrometheusNames.BaseUnit(unit).Divisor);
}
