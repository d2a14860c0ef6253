using Npgsql;
using SmartHub.Hosting;
using SmartHub.Hosting.Testing;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Hosting;

/// <summary>Whole-graph lifecycles: each test starts and disposes its own graphs.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Data_survives_a_restart_on_the_same_state_folder_and_dispose_leaves_no_process()
    {
        var state = Path.Combine(Path.GetTempPath(), "smarthub-tests", "persist-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(state);
        var marker = Guid.NewGuid().ToString("N");
        try
        {
            // First run: write a row into coredb and a key into Redis.
            await using (var first = await StartAsync(state))
            {
                await using (var db = NpgsqlDataSource.Create((await first.App.GetConnectionStringAsync("coredb"))!))
                {
                    await using var create = db.CreateCommand("CREATE TABLE IF NOT EXISTS persistence_probe (marker text primary key)");
                    await create.ExecuteNonQueryAsync();
                    await using var insert = db.CreateCommand("INSERT INTO persistence_probe VALUES ($1)");
                    insert.Parameters.Add(new NpgsqlParameter { Value = marker });
                    await insert.ExecuteNonQueryAsync();
                }

                await using (var redis = await RedisConnection.ConnectAsync(RedisOptions.Parse((await first.App.GetConnectionStringAsync("cache"))!)))
                {
                    await redis.ExecuteAsync("SET", ["persistence-probe", marker]);
                }

                await AssertDisposeLeavesNothingAsync(first);
            }

            // Second run on the same folder: same generated passwords, same data.
            await using (var second = await StartAsync(state))
            {
                await using (var db = NpgsqlDataSource.Create((await second.App.GetConnectionStringAsync("coredb"))!))
                {
                    await using var select = db.CreateCommand("SELECT count(*) FROM persistence_probe WHERE marker = $1");
                    select.Parameters.Add(new NpgsqlParameter { Value = marker });
                    Assert.Equal(1L, await select.ExecuteScalarAsync());
                }

                await using (var redis = await RedisConnection.ConnectAsync(RedisOptions.Parse((await second.App.GetConnectionStringAsync("cache"))!)))
                {
                    Assert.Equal(marker, (await redis.ExecuteAsync("GET", ["persistence-probe"])).AsString());
                }

                await AssertDisposeLeavesNothingAsync(second);
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<Started> StartAsync(string state)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>([$"--SMARTHUB_STATE_DIR={state}"]);
        var app = await builder.BuildAsync();
        try
        {
            await app.StartAsync().WaitAsync(GraphFixture.StartTimeout);
        }
        catch
        {
            await builder.DisposeAsync();
            throw;
        }

        return new Started(builder, app);
    }

    private static async Task AssertDisposeLeavesNothingAsync(Started started)
    {
        var pids = started.App.GetProcessIds();
        Assert.Equal(["auth", "cache", "core", "gateway", "mcp", "postgres"], pids.Keys.Order());
        Assert.All(pids.Values, pid => Assert.True(Poll.IsAlive(pid)));

        await started.DisposeAsync();

        Assert.All(pids, p => Assert.False(Poll.IsAlive(p.Value), $"{p.Key} (PID {p.Value}) is still running"));
        Assert.Empty(Poll.LiveMembersOfGroups(pids.Values));
    }

    private sealed record Started(IDistributedApplicationTestingBuilder Builder, DistributedApplication App) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Builder.DisposeAsync();
    }
}
