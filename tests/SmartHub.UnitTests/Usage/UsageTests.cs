using System.Buffers;
using System.Text;
using System.Text.Json;
using SmartHub.CoreService.Apis;
using SmartHub.CoreService.Pricing;
using SmartHub.CoreService.Usage;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.UnitTests.Usage;

public sealed class UsageRecordTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static UsageRecord Valid() =>
        new(Guid.NewGuid(), Now, Guid.NewGuid(), Guid.NewGuid(), "mock-fast", "mock", 10, 20, 3, 12.5, 4.25, 200, false);

    [Fact]
    public void A_batch_round_trips_with_snake_case_names()
    {
        var records = new[] { Valid(), Valid() with { ApiKeyId = null, TimeToFirstTokenMs = null, CacheHit = true } };
        var buffer = new ArrayBufferWriter<byte>();

        UsageRecordBatch.Encode(records, buffer);
        var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var decoded = UsageRecordBatch.Decode(buffer.WrittenSpan);

        Assert.Contains("\"prompt_tokens\":10", json, StringComparison.Ordinal);
        Assert.Contains("\"time_to_first_token_ms\":4.25", json, StringComparison.Ordinal);
        Assert.Equal(records, decoded);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("{\"id\": 1}")]
    [InlineData("[{\"prompt_tokens\": \"ten\"}]")]
    [InlineData("not json")]
    public void Malformed_batches_throw_json_exceptions(string json) =>
        Assert.ThrowsAny<JsonException>(() => UsageRecordBatch.Decode(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void A_valid_record_passes() => Assert.Null(Valid().Validate(Now));

    public static TheoryData<string, Func<UsageRecord, UsageRecord>> Invalid => new()
    {
        { "id", r => r with { Id = Guid.Empty } },
        { "user_id", r => r with { UserId = Guid.Empty } },
        { "occurred_at", r => r with { OccurredAt = Now.AddDays(-401) } },
        { "occurred_at", r => r with { OccurredAt = Now.AddDays(2) } },
        { "model", r => r with { Model = " " } },
        { "model", r => r with { Provider = new string('p', 201) } },
        { "negative", r => r with { PromptTokens = -1 } },
        { "negative", r => r with { Credits = -1 } },
        { "latency_ms", r => r with { LatencyMs = double.NaN } },
        { "latency_ms", r => r with { TimeToFirstTokenMs = -1 } },
        { "status", r => r with { Status = 42 } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_records_say_what_is_wrong(string mentions, Func<UsageRecord, UsageRecord> change)
    {
        var problem = change(Valid()).Validate(Now);
        Assert.NotNull(problem);
        Assert.Contains(mentions, problem, StringComparison.Ordinal);
    }
}

public sealed class UsagePeriodTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 15, 30, 0, TimeSpan.Zero);
    private static readonly UsageOptions Options = new();

    [Fact]
    public void Whole_days_lie_between_the_partial_edges()
    {
        var period = new UsagePeriod(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 5, 6, 0, 0, TimeSpan.Zero));
        Assert.True(period.HasWholeDays);
        Assert.Equal(new DateOnly(2026, 11, 2), period.FirstWholeDay);
        Assert.Equal(new DateOnly(2026, 11, 5), period.EndOfWholeDays);

        var aligned = new UsagePeriod(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 3, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateOnly(2026, 11, 1), aligned.FirstWholeDay);
        Assert.Equal(new DateOnly(2026, 11, 3), aligned.EndOfWholeDays);

        var within = new UsagePeriod(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 6, 0, 0, TimeSpan.Zero));
        Assert.False(within.HasWholeDays);
    }

    [Fact]
    public void Dates_are_utc_days_and_a_date_to_includes_its_day()
    {
        var errors = new Dictionary<string, string[]>();
        var period = UsagePeriodParser.Parse("2026-11-01", "2026-11-30", Options, Now, errors);
        Assert.Empty(errors);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), period.From);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), period.To);
    }

    [Fact]
    public void Times_keep_their_instant_and_the_default_is_the_last_30_days()
    {
        var errors = new Dictionary<string, string[]>();
        var period = UsagePeriodParser.Parse("2026-11-01T10:00:00+02:00", null, Options, Now, errors);
        Assert.Empty(errors);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero), period.From);
        Assert.Equal(Now, period.To);

        var byDefault = UsagePeriodParser.Parse(null, null, Options, Now, errors);
        Assert.Equal(Now.AddDays(-30), byDefault.From);
    }

    [Theory]
    [InlineData("2026-11-01T10:00:00", null, "from")]
    [InlineData("11/01/2026", null, "from")]
    [InlineData("2026-11-05", "2026-11-01", "from")]
    [InlineData("2024-01-01", "2026-01-01", "to")]
    public void Bad_periods_name_the_parameter(string? from, string? to, string parameter)
    {
        var errors = new Dictionary<string, string[]>();
        UsagePeriodParser.Parse(from, to, Options, Now, errors);
        Assert.True(errors.ContainsKey(parameter));
    }

    [Fact]
    public void Every_day_of_the_period_is_listed_once()
    {
        var period = new UsagePeriod(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 4, 0, 0, 0, TimeSpan.Zero));
        var groups = new[]
        {
            new UsageGroup(UsageDimension.Day, new DateOnly(2026, 11, 2), null, null, null, null, UsageFigures.Zero with { Requests = 4 }),
        };

        var days = UsageApi.EveryDay(period, groups);

        Assert.Equal(["2026-11-01", "2026-11-02", "2026-11-03"], days.Select(d => d.Key));
        Assert.Equal([0L, 4L, 0L], days.Select(d => d.Requests));
    }
}

public sealed class PricingTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 0, 1)]          // any use costs at least a credit
    [InlineData(1000, 1000, 18)]   // 3 + 15
    [InlineData(1500, 100, 6)]     // 4.5 + 1.5
    [InlineData(1501, 100, 7)]     // rounded up
    public void A_request_costs_its_tokens_at_the_model_price_rounded_up(long prompt, long completion, long credits) =>
        Assert.Equal(credits, new ModelPrice { PromptPer1K = 3, CompletionPer1K = 15 }.Cost(prompt, completion));

    [Fact]
    public void Negative_or_absurd_prices_are_refused_at_start()
    {
        var options = new PricingOptions
        {
            Models =
            {
                ["ok"] = new ModelPrice { PromptPer1K = 1, CompletionPer1K = 2 },
                ["negative"] = new ModelPrice { PromptPer1K = -1 },
                ["huge"] = new ModelPrice { CompletionPer1K = 10_000_000 },
            },
        };

        var result = new PricingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(2, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("negative", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("huge", StringComparison.Ordinal));
    }
}
