using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace SmartHub.Benchmarks.CreditsBench;

/// <summary>
/// Users and their credits, before anything is measured. Setup only: users are inserted straight into authdb (the
/// register and admin APIs hash a password per user, PBKDF2 at 600,000 iterations, ~0.15 s each on this machine) with a
/// password hash that never verifies, so nobody can log in as them. Their credit accounts are opened the ordinary way:
/// an admin grant through the gateway, which makes CoreService confirm the user with AuthService and open the account
/// with its signup grant, then adds the grant.
/// </summary>
internal static class Setup
{
    /// <summary>
    /// Credits granted to every benchmark user on top of the signup grant. A pair costs 7 (reserve 10, capture 7) and the
    /// hot user pays for every pair of the hot runs: at 20,000 pairs/s, several times what this machine does, 1e11 credits
    /// last 8 days of measuring. A 402 would fail the run (every pair must answer 201 then 200).
    /// </summary>
    public const long Budget = 100_000_000_000;

    public static async Task<Guid[]> CreateUsersAsync(BenchOptions options, int count, string runId, CancellationToken cancellationToken)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToArray();
        var emails = Enumerable.Range(0, count).Select(i => $"bench-{runId}-{i:D4}@bench.invalid").ToArray();
        await using var dataSource = NpgsqlDataSource.Create(options.ConnectionString("authdb"));
        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO users (id, email, display_name, password_hash, created_at)
            SELECT id, email, 'credits benchmark', '!benchmark user: no password', now() FROM unnest($1::uuid[], $2::text[]) AS u (id, email)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = emails });
        var inserted = await command.ExecuteNonQueryAsync(cancellationToken);
        if (inserted != count)
        {
            throw new InvalidOperationException($"Inserted {inserted} users into authdb instead of {count}.");
        }

        return ids;
    }

    public static async Task GrantAsync(BenchOptions options, HttpClient http, IReadOnlyList<Guid> users, CancellationToken cancellationToken)
    {
        using var login = await http.PostAsJsonAsync(
            new Uri(options.Gateway, "/auth/login"), new { email = options.AdminEmail, password = options.AdminPassword }, cancellationToken);
        login.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync(cancellationToken));
        var token = body.RootElement.GetProperty("accessToken").GetString();

        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (user, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Gateway, "/api/v1/admin/credits/grants"))
            {
                Content = JsonContent.Create(new { userId = user, amount = Budget, reason = "credits benchmark budget", idempotencyKey = $"bench-budget-{user:N}" }),
            };
            request.Headers.Authorization = new("Bearer", token);
            using var response = await http.SendAsync(request, ct);
            if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
            {
                throw new InvalidOperationException(
                    $"Granting credits to {user} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }
        });
    }
}
