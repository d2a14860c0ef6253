using SmartHub.ServiceDefaults.Correlation;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class CorrelationIdTests
{
    [Theory]
    [InlineData("abc")]
    [InlineData("0f8fad5b-d9cb-469f-a165-70867728950e")]
    [InlineData("svc:req.42_A-b")]
    public void Well_formed_ids_are_accepted_as_is(string incoming)
    {
        Assert.True(CorrelationId.IsValid(incoming));
        Assert.Equal(incoming, CorrelationId.AcceptOrCreate(incoming));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("new\nline")]
    [InlineData("semi;colon")]
    [InlineData("<script>")]
    [InlineData("é")]
    public void Malformed_ids_are_replaced(string? incoming)
    {
        var accepted = CorrelationId.AcceptOrCreate(incoming);

        Assert.NotEqual(incoming, accepted);
        Assert.True(CorrelationId.IsValid(accepted));
    }

    [Fact]
    public void New_ids_are_32_hex_characters_and_unique_across_threads()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(CorrelationId.NewId());
            }
        });

        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids.Take(10), id => Assert.True(CorrelationId.IsValid(id)));
    }

    [Fact]
    public void Buffered_random_bytes_are_never_handed_out_twice_and_requests_over_1_KiB_are_refused()
    {
        var seen = new HashSet<string>();
        var bytes = new byte[100]; // not a divisor of 1 KiB: refills happen mid-way
        for (var i = 0; i < 1_000; i++)
        {
            SmartHub.ServiceDefaults.Security.BufferedRandom.Fill(bytes);
            Assert.True(seen.Add(Convert.ToHexString(bytes)));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => SmartHub.ServiceDefaults.Security.BufferedRandom.Fill(new byte[1025]));
    }

    [Fact]
    public void Length_is_limited_to_128_characters()
    {
        Assert.True(CorrelationId.IsValid(new string('a', 128)));
        Assert.False(CorrelationId.IsValid(new string('a', 129)));
    }

    [Fact]
    public async Task Outgoing_requests_carry_the_current_id_unless_they_set_their_own()
    {
        var inner = new HeaderCapturingHandler();
        using var invoker = new HttpMessageInvoker(new CorrelationIdHandler { InnerHandler = inner });

        CorrelationId.Current = "req-1";
        try
        {
            using (await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://core/a"), CancellationToken.None))
            {
                Assert.Equal("req-1", inner.LastValue);
            }

            var explicitRequest = new HttpRequestMessage(HttpMethod.Get, "http://core/b");
            explicitRequest.Headers.Add(CorrelationId.HeaderName, "mine");
            using (await invoker.SendAsync(explicitRequest, CancellationToken.None))
            {
                Assert.Equal("mine", inner.LastValue);
            }
        }
        finally
        {
            CorrelationId.Current = null;
        }
    }

    private sealed class HeaderCapturingHandler : HttpMessageHandler
    {
        public string? LastValue { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastValue = request.Headers.TryGetValues(CorrelationId.HeaderName, out var values) ? string.Join(",", values) : null;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
        }
    }
}
