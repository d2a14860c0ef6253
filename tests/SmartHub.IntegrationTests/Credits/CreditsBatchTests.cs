using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.ServiceDefaults.Credits;
using static SmartHub.IntegrationTests.Credits.LedgerCalls;

namespace SmartHub.IntegrationTests.Credits;

/// <summary>
/// Group commit: <c>POST /internal/credits/batch</c> (several callers' operations in one request and one transaction)
/// and <see cref="CreditsClient"/>, which McpServer uses and which sends overlapping calls together. Each operation must
/// be answered exactly as its single endpoint would, a refusal or a failure must stay with its own operation, and
/// batches over the same accounts must neither deadlock nor overspend.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class CreditsBatchTests(GraphFixture graph)
{
    private const long SignupGrant = 1_000;

    [Fact]
    public async Task A_batch_answers_each_operation_as_its_single_endpoint_would()
    {
        var (alice, bob) = (await graph.NewUserAsync(), await graph.NewUserAsync()); // bob's account opens inside the batch
        using var core = graph.CoreClient();
        var toCapture = Id(await ReserveAsync(core, alice.Id, 100));
        var toRelease = Id(await ReserveAsync(core, alice.Id, 50));
        var requestId = "req-" + Guid.NewGuid();

        var results = await BatchAsync(core,
            new { reserve = new { userId = alice.Id, amount = 10, requestId } },
            new { reserve = new { userId = bob.Id, amount = 20, requestId = "req-" + Guid.NewGuid() } },
            new { capture = new { reservationId = toCapture, actualAmount = 60 } },
            new { release = new { reservationId = toRelease } },
            new { capture = new { reservationId = Guid.NewGuid(), actualAmount = 1 } },
            new { reserve = new { userId = alice.Id, amount = 0, requestId = "req-" + Guid.NewGuid() } },
            new { reserve = new { userId = alice.Id, amount = 5, requestId = "req-" + Guid.NewGuid() }, release = new { reservationId = toRelease } },
            new { reserve = new { userId = alice.Id, amount = 10, requestId } },
            new { reserve = new { userId = alice.Id, amount = 11, requestId } },
            new { reserve = new { userId = Guid.NewGuid(), amount = 1, requestId = "req-" + Guid.NewGuid() } },
            new { reserve = new { userId = alice.Id, amount = 5_000, requestId = "req-" + Guid.NewGuid() } });

        Assert.Equal([201, 201, 200, 200, 404, 400, 400, 200, 409, 404, 402], results.Select(r => r.GetProperty("status").GetInt32()));
        var held = results[0].GetProperty("reservation");
        Assert.Equal("held", held.GetProperty("status").GetString());
        Assert.Equal(Id(held), Id(results[7].GetProperty("reservation")));
        Assert.True(results[7].GetProperty("reservation").GetProperty("replayed").GetBoolean());
        Assert.Equal(bob.Id, results[1].GetProperty("reservation").GetProperty("userId").GetString());
        Assert.Equal(SignupGrant - 20, results[1].GetProperty("reservation").GetProperty("available").GetInt64());
        Assert.Equal(60, results[2].GetProperty("settlement").GetProperty("charged").GetInt64());
        Assert.Equal("released", results[3].GetProperty("settlement").GetProperty("status").GetString());
        Assert.Equal("https://smarthub.local/problems/not-found", results[4].GetProperty("problem").GetProperty("type").GetString());
        Assert.True(results[5].GetProperty("problem").GetProperty("errors").TryGetProperty("amount", out _));
        Assert.True(results[6].GetProperty("problem").GetProperty("errors").TryGetProperty("operation", out _));
        Assert.Equal("https://smarthub.local/problems/idempotency-conflict", results[8].GetProperty("problem").GetProperty("type").GetString());
        Assert.Equal("https://smarthub.local/problems/unknown-user", results[9].GetProperty("problem").GetProperty("type").GetString());
        Assert.Equal("https://smarthub.local/problems/insufficient-credits", results[10].GetProperty("problem").GetProperty("type").GetString());

        // alice: 1,000 - 60 captured, 10 held; bob: 20 held.
        using var client = graph.Client(bearer: alice.Tokens.AccessToken);
        var balance = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
        Assert.Equal(SignupGrant - 60, balance.GetProperty("balance").GetInt64());
        Assert.Equal(10, balance.GetProperty("reserved").GetInt64());
        await graph.AssertLedgerConsistentAsync();
    }

    [Theory]
    [InlineData("""{"operations":[]}""", "operations")]
    [InlineData("""{}""", "operations")]
    [InlineData("""{"operations":[{"reserve":{"userId":"USER","amount":5,"requestId":"r"}}],"extra":1}""", "extra")]
    [InlineData("""{"operations":[{"reserve":{"userId":"USER","amount":"5","requestId":"r"}}]}""", "operations[0].reserve.amount")]
    [InlineData("""{"operations":[""", "operations[0]")]
    public async Task Bad_batches_are_400_naming_the_field(string json, string field)
    {
        using var core = graph.CoreClient();
        using var content = new StringContent(json.Replace("USER", Guid.NewGuid().ToString(), StringComparison.Ordinal), Encoding.UTF8, "application/json");

        using var response = await core.PostAsync("/internal/credits/batch", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Fact]
    public async Task A_batch_over_the_limit_is_400_and_the_batch_needs_the_internal_token()
    {
        using var core = graph.CoreClient();
        var operations = Enumerable.Range(0, CreditBatchRequest.MaxOperations + 1)
            .Select(_ => new { release = new { reservationId = Guid.NewGuid() } }).ToArray();
        using var tooMany = await core.PostAsJsonAsync("/internal/credits/batch", new { operations });
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);

        using var stranger = graph.App.CreateHttpClient("core");
        using var anonymous = await stranger.PostAsJsonAsync("/internal/credits/batch", new { operations = operations[..1] });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var viaGateway = await graph.Gateway.PostAsJsonAsync("/internal/credits/batch", new { operations = operations[..1] });
        Assert.Equal(HttpStatusCode.NotFound, viaGateway.StatusCode);
    }

    [Fact]
    public async Task Two_hundred_concurrent_client_calls_share_requests_and_never_overspend()
    {
        var user = await graph.NewUserAsync();
        using var http = graph.CoreClient();
        var client = NewClient(http, maxConcurrentRequests: 2);

        var reserves = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            client.ReserveAsync(new ReserveRequest(Guid.Parse(user.Id), null, 7, $"cc-{user.Id}-{i}", null), CancellationToken.None)));

        Assert.All(reserves, r => Assert.True(r.Status is 201 or 402, $"unexpected {r.Status}: {r.Problem?.Detail}"));
        var held = reserves.Where(r => r.Status == 201).ToArray();
        Assert.Equal(SignupGrant / 7, held.Length); // 142 fit; the other 58 are refused
        Assert.InRange(client.Sent.Requests, 1, 199); // calls that overlapped travelled together

        var captures = await Task.WhenAll(held.Select(r =>
            client.CaptureAsync(new CaptureRequest(r.Value!.ReservationId, 5), CancellationToken.None)));
        Assert.All(captures, c => Assert.Equal(200, c.Status));

        using var owner = graph.Client(bearer: user.Tokens.AccessToken);
        var balance = await owner.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
        Assert.Equal(SignupGrant - (held.Length * 5), balance.GetProperty("balance").GetInt64());
        Assert.Equal(0, balance.GetProperty("reserved").GetInt64());
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Concurrent_batches_over_the_same_accounts_never_deadlock()
    {
        var users = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => graph.NewUserAsync()));
        using var http = graph.CoreClient();
        var client = NewClient(http, maxConcurrentRequests: 8);
        await using var coredb = NpgsqlDataSource.Create((await graph.App.GetConnectionStringAsync("coredb"))!);
        var deadlocksBefore = await DeadlocksAsync(coredb);

        // 400 pairs over 5 accounts from 8 concurrent requests: every batch holds several of the same accounts, in every order.
        var failures = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            var user = users[(i * 7) % users.Length];
            var reserve = await client.ReserveAsync(new ReserveRequest(Guid.Parse(user.Id), null, 2, $"dl-{user.Id}-{i}", null), CancellationToken.None);
            if (reserve.Status != 201)
            {
                return $"reserve {reserve.Status}: {reserve.Problem?.Detail}";
            }

            var capture = await client.CaptureAsync(new CaptureRequest(reserve.Value!.ReservationId, 1), CancellationToken.None);
            return capture.Status == 200 ? null : $"capture {capture.Status}: {capture.Problem?.Detail}";
        }));

        Assert.All(failures, Assert.Null);
        Assert.InRange(client.Sent.Requests, 1, 799);
        foreach (var user in users)
        {
            using var owner = graph.Client(bearer: user.Tokens.AccessToken);
            var balance = await owner.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
            Assert.Equal(SignupGrant - 80, balance.GetProperty("balance").GetInt64()); // 80 pairs each, 1 charged per pair
            Assert.Equal(0, balance.GetProperty("reserved").GetInt64());
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5)); // statistics reach pg_stat_database within a second
        Assert.Equal(deadlocksBefore, await DeadlocksAsync(coredb));
        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task An_operation_the_database_refuses_fails_alone()
    {
        var users = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => graph.NewUserAsync()));
        using var core = graph.CoreClient();
        await BatchAsync(core, [.. users.Select(u => (object)new { reserve = new { userId = u.Id, amount = 1, requestId = "req-" + Guid.NewGuid() } })]); // opens the accounts
        await using var coredb = NpgsqlDataSource.Create((await graph.App.GetConnectionStringAsync("coredb"))!);

        // A fault no caller can provoke: PostgreSQL refuses one statement, which rolls the whole batch back.
        await using (var create = coredb.CreateCommand(
            """
            CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'poisoned request %', NEW.request_id USING ERRCODE = 'raise_exception'; END $$;
            CREATE TRIGGER test_poison BEFORE INSERT ON credit_reservations
                FOR EACH ROW WHEN (NEW.request_id LIKE 'poison-%') EXECUTE FUNCTION test_poison();
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        try
        {
            var results = await BatchAsync(core,
                new { reserve = new { userId = users[0].Id, amount = 10, requestId = "req-" + Guid.NewGuid() } },
                new { reserve = new { userId = users[1].Id, amount = 10, requestId = "poison-" + Guid.NewGuid() } },
                new { reserve = new { userId = users[2].Id, amount = 10, requestId = "req-" + Guid.NewGuid() } });

            Assert.Equal([201, 500, 201], results.Select(r => r.GetProperty("status").GetInt32()));
            var problem = results[1].GetProperty("problem");
            Assert.Equal("https://smarthub.local/problems/internal-error", problem.GetProperty("type").GetString());
            Assert.DoesNotContain("poisoned", problem.ToString(), StringComparison.Ordinal); // no database detail leaks
        }
        finally
        {
            await using var drop = coredb.CreateCommand("DROP TRIGGER test_poison ON credit_reservations; DROP FUNCTION test_poison();");
            await drop.ExecuteNonQueryAsync();
        }

        await graph.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Calls_fail_as_unavailable_when_CoreService_cannot_be_reached_and_a_cancelled_call_is_not_sent()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{closedPort}") };
        var client = new CreditsClient(() => http, new CreditsClientOptions { CoreUri = http.BaseAddress }, new string('t', 32));

        var calls = Enumerable.Range(0, 20).Select(i =>
            client.ReserveAsync(new ReserveRequest(Guid.NewGuid(), null, 1, $"down-{i}", null), CancellationToken.None)).ToArray();
        foreach (var call in calls)
        {
            var failure = await Assert.ThrowsAsync<SmartHub.ServiceDefaults.Errors.DependencyUnavailableException>(() => call);
            Assert.Contains("credits ledger", failure.Message, StringComparison.Ordinal);
        }

        var sentBefore = client.Sent;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.ReleaseAsync(new ReleaseRequest(Guid.NewGuid()), new CancellationToken(canceled: true)));
        Assert.Equal(sentBefore, client.Sent);
    }

    private static CreditsClient NewClient(HttpClient http, int maxConcurrentRequests) => new(
        () => http,
        new CreditsClientOptions { CoreUri = http.BaseAddress!, MaxConcurrentRequests = maxConcurrentRequests },
        http.DefaultRequestHeaders.GetValues("X-Internal-Token").Single());

    private static async Task<JsonElement[]> BatchAsync(HttpClient core, params object[] operations)
    {
        using var response = await core.PostAsJsonAsync("/internal/credits/batch", new { operations });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"batch: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var results = body.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(operations.Length, results.Length);
        return results;
    }

    private static async Task<long> DeadlocksAsync(NpgsqlDataSource coredb)
    {
        await using var command = coredb.CreateCommand("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
