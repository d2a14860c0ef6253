using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SmartHub.ServiceDefaults.Metrics;
using SmartHub.Tests.Shared;

namespace SmartHub.UnitTests.Metrics;

/// <summary>
/// The collector's output, read back with a strict parser of the text format: each test has a meter of its own (tests
/// run in parallel in one process, and a listener sees every meter it subscribes to).
/// </summary>
public sealed class PrometheusExpositionTests : IDisposable
{
    private readonly string _meterName = "SmartHub.Test." + Guid.NewGuid().ToString("N");
    private readonly Meter _meter;
    private readonly PrometheusMetricsCollector _collector;

    public PrometheusExpositionTests()
    {
        _meter = new Meter(_meterName);
        _collector = Collector(maxSeries: 100);
    }

    public void Dispose()
    {
        _collector.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public void Counter_is_a_counter_total_with_help_and_its_sum_per_label_set()
    {
        var counter = _meter.CreateCounter<long>("smarthub.test.requests", "{request}", "Requests handled.");

        counter.Add(2, new KeyValuePair<string, object?>("scope", "api"));
        counter.Add(3, new KeyValuePair<string, object?>("scope", "api"));
        counter.Add(1, new KeyValuePair<string, object?>("scope", "auth"));
        counter.Add(-7, new KeyValuePair<string, object?>("scope", "api")); // a counter never goes down

        var scrape = Scrape();
        Assert.Equal("counter", scrape.Types["smarthub_test_requests_total"]);
        Assert.Equal("Requests handled.", scrape.Help["smarthub_test_requests_total"]);
        Assert.Equal(5, scrape.Value("smarthub_test_requests_total", ("scope", "api")));
        Assert.Equal(1, scrape.Value("smarthub_test_requests_total", ("scope", "auth")));
    }

    [Fact]
    public void Histogram_in_ms_is_reported_in_seconds_with_cumulative_buckets_sum_and_count()
    {
        var histogram = _meter.CreateHistogram<double>("smarthub.test.latency", "ms", "Latency.");

        histogram.Record(250, new KeyValuePair<string, object?>("route", "/a"));
        histogram.Record(1500, new KeyValuePair<string, object?>("route", "/a"));
        histogram.Record(120_000, new KeyValuePair<string, object?>("route", "/a"));

        var scrape = Scrape();
        const string name = "smarthub_test_latency_seconds";
        Assert.Equal("histogram", scrape.Types[name]);
        var buckets = scrape.Named(name + "_bucket").ToDictionary(sample => sample.Labels["le"], sample => sample.Value);
        Assert.Equal(
            [.. PrometheusMetricsCollector.DurationBuckets.Select(bound => bound.ToString(System.Globalization.CultureInfo.InvariantCulture)), "+Inf"],
            buckets.Keys);
        Assert.Equal(0, buckets["0.1"]);
        Assert.Equal(1, buckets["0.25"]); // "le" is inclusive: 250 ms is exactly 0.25 s
        Assert.Equal(1, buckets["1"]);
        Assert.Equal(2, buckets["2"]);
        Assert.Equal(2, buckets["60"]);
        Assert.Equal(3, buckets["+Inf"]);
        Assert.Equal(121.75, scrape.Value(name + "_sum", ("route", "/a")), 9);
        Assert.Equal(3, scrape.Value(name + "_count", ("route", "/a")));
    }

    [Fact]
    public void Histograms_that_are_not_durations_use_their_advice_or_the_default_buckets()
    {
        var advised = _meter.CreateHistogram<long>(
            "smarthub.test.size", "By", "Sizes.", tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [10, 100] });
        var plain = _meter.CreateHistogram<int>("smarthub.test.items", "{item}");
        advised.Record(50);
        plain.Record(7);

        var scrape = Scrape();
        Assert.Equal(["10", "100", "+Inf"], scrape.Named("smarthub_test_size_bytes_bucket").Select(sample => sample.Labels["le"]));
        Assert.Equal(PrometheusMetricsCollector.DefaultBuckets.Count + 1, scrape.Named("smarthub_test_items_bucket").Count());
    }

    [Fact]
    public void Up_down_counters_and_gauges_are_gauges()
    {
        var active = _meter.CreateUpDownCounter<long>("smarthub.test.active", "{connection}", "Open connections.");
        var temperature = _meter.CreateGauge<double>("smarthub.test.temperature", "Cel");
        active.Add(5);
        active.Add(-2);
        temperature.Record(40);
        temperature.Record(21.5);

        var scrape = Scrape();
        Assert.Equal("gauge", scrape.Types["smarthub_test_active"]);
        Assert.Equal(3, scrape.Value("smarthub_test_active"));
        Assert.Equal("gauge", scrape.Types["smarthub_test_temperature_celsius"]);
        Assert.Equal(21.5, scrape.Value("smarthub_test_temperature_celsius"));
    }

    [Fact]
    public void Observable_instruments_report_what_their_callbacks_say_at_each_scrape()
    {
        var sessions = new List<Measurement<int>> { new(3, new KeyValuePair<string, object?>("kind", "sse")), new(1, new KeyValuePair<string, object?>("kind", "post")) };
        _meter.CreateObservableGauge("smarthub.test.sessions", () => sessions, "{session}");
        var cpu = 1.5;
        _meter.CreateObservableCounter("smarthub.test.cpu.time", () => cpu, "s");
        _meter.CreateObservableUpDownCounter("smarthub.test.memory", () => 1024L, "By");

        var first = Scrape();
        Assert.Equal(3, first.Value("smarthub_test_sessions", ("kind", "sse")));
        Assert.Equal(1, first.Value("smarthub_test_sessions", ("kind", "post")));
        Assert.Equal("counter", first.Types["smarthub_test_cpu_time_seconds_total"]);
        Assert.Equal(1.5, first.Value("smarthub_test_cpu_time_seconds_total"));
        Assert.Equal("gauge", first.Types["smarthub_test_memory_bytes"]);

        // A series the callback no longer reports leaves the exposition; values are the callbacks' latest.
        sessions.RemoveAt(1);
        cpu = 2.25;
        var second = Scrape();
        Assert.Single(second.Named("smarthub_test_sessions"));
        Assert.Equal(2.25, second.Value("smarthub_test_cpu_time_seconds_total"));
    }

    [Fact]
    public void Label_values_are_escaped_and_read_back_unchanged()
    {
        var counter = _meter.CreateCounter<long>("smarthub.test.escaped");
        const string nasty = "back\\slash \"quoted\"\nnew line, comma=equals {brace} ünïcode";

        counter.Add(1, new KeyValuePair<string, object?>("error.type", nasty));

        var text = _collector.Collect();
        Assert.Contains("error_type=\"back\\\\slash \\\"quoted\\\"\\nnew line, comma=equals {brace} ünïcode\"", text, StringComparison.Ordinal);
        var sample = Assert.Single(PrometheusExposition.Parse(text).Named("smarthub_test_escaped_total"));
        Assert.Equal(nasty, sample.Labels["error_type"]);
    }

    [Fact]
    public void Help_text_is_escaped()
    {
        var counter = _meter.CreateCounter<long>("smarthub.test.help", description: "Line one\nline two \\ end");
        counter.Add(1);

        var text = _collector.Collect();

        Assert.Contains("# HELP smarthub_test_help_total Line one\\nline two \\\\ end\n", text, StringComparison.Ordinal);
        Assert.Equal("Line one\nline two \\ end", PrometheusExposition.Parse(text).Help["smarthub_test_help_total"]);
    }

    [Fact]
    public void The_same_tags_in_any_order_or_numeric_type_are_one_series_and_empty_values_are_left_out()
    {
        var counter = _meter.CreateCounter<long>("smarthub.test.order");

        counter.Add(1, new("b", "2"), new("a", 200), new("http.route", "/x"));
        counter.Add(1, new("http.route", "/x"), new("a", 200L), new("b", "2"));
        counter.Add(1, new("a", 200), new("b", "2"), new("http.route", "/x"), new("empty", ""), new("none", null));

        var sample = Assert.Single(Scrape().Named("smarthub_test_order_total"));
        Assert.Equal(3, sample.Value);
        Assert.Equal(["a", "b", "http_route"], sample.Labels.Keys.Order());
        Assert.Contains("smarthub_test_order_total{a=\"200\",b=\"2\",http_route=\"/x\"} 3\n", _collector.Collect(), StringComparison.Ordinal);
    }

    [Fact]
    public void Series_beyond_the_cap_are_dropped_and_counted()
    {
        using var collector = Collector(maxSeries: 10);
        var counter = _meter.CreateCounter<long>("smarthub.test.users");

        for (var i = 0; i < 15; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("user", "u" + i)); // the mistake the cap exists for
        }

        counter.Add(1, new KeyValuePair<string, object?>("user", "u3")); // an existing series still counts

        var scrape = PrometheusExposition.Parse(collector.Collect());
        var kept = scrape.Named("smarthub_test_users_total").ToList();
        Assert.Equal(10, kept.Count);
        Assert.Equal(2, scrape.Value("smarthub_test_users_total", ("user", "u3")));
        Assert.Equal(5, scrape.Value(PrometheusMetricsCollector.DroppedMetricName, ("metric", "smarthub_test_users_total")));
    }

    [Fact]
    public void Meters_outside_the_list_and_other_hosts_meters_are_ignored()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var collector = new PrometheusMetricsCollector(100, [_meterName + ".*", _meterName], factory);
        collector.Start();
        factory.Create(_meterName + ".Mine").CreateCounter<long>("smarthub.test.mine").Add(1);
        otherServices.GetRequiredService<IMeterFactory>().Create(_meterName + ".Mine").CreateCounter<long>("smarthub.test.theirs").Add(1);
        using var unlisted = new Meter("SmartHub.Unlisted." + Guid.NewGuid().ToString("N"));
        unlisted.CreateCounter<long>("smarthub.test.unlisted").Add(1);
        _meter.CreateCounter<long>("smarthub.test.unscoped").Add(1);

        var scrape = PrometheusExposition.Parse(collector.Collect());

        Assert.Equal(1, scrape.Value("smarthub_test_mine_total"));
        Assert.Equal(1, scrape.Value("smarthub_test_unscoped_total"));
        Assert.Empty(scrape.Named("smarthub_test_theirs_total"));
        Assert.Empty(scrape.Named("smarthub_test_unlisted_total"));
    }

    [Fact]
    public void A_disposed_meter_leaves_the_exposition()
    {
        var meter = new Meter(_meterName + ".Short");
        meter.CreateCounter<long>("smarthub.test.short").Add(1);
        Assert.Single(Scrape().Named("smarthub_test_short_total"));

        meter.Dispose();

        Assert.Empty(Scrape().Named("smarthub_test_short_total"));
    }

    [Fact]
    public void Runtime_metrics_are_there_and_thread_counts_are_gauges()
    {
        using var collector = new PrometheusMetricsCollector(100, ["System.Runtime"]);
        collector.Start();

        var scrape = PrometheusExposition.Parse(collector.Collect());

        Assert.Equal("counter", scrape.Types["dotnet_process_cpu_time_seconds_total"]);
        Assert.Equal(["system", "user"], scrape.Named("dotnet_process_cpu_time_seconds_total").Select(s => s.Labels["cpu_mode"]).Order());
        Assert.Equal(Environment.ProcessorCount, scrape.Value("dotnet_process_cpu_count"));
        Assert.True(scrape.Value("dotnet_process_memory_working_set_bytes") > 0);
        Assert.Equal("gauge", scrape.Types["dotnet_thread_pool_thread_count"]); // published as ObservableCounter by the runtime
        Assert.Equal("gauge", scrape.Types["dotnet_thread_pool_queue_length"]);
        Assert.Equal("counter", scrape.Types["dotnet_thread_pool_work_item_count_total"]);
    }

    private PrometheusMetricsCollector Collector(int maxSeries)
    {
        var collector = new PrometheusMetricsCollector(maxSeries, [_meterName, _meterName + ".*"]);
        collector.Start();
        return collector;
    }

    private PrometheusExposition Scrape() => PrometheusExposition.Parse(_collector.Collect());
}
