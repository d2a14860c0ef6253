using SmartHub.ServiceDefaults.Postgres.Migrations;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class MigrationTests
{
    [Theory]
    [InlineData("SmartHub.CoreService.Migrations.0001_init.sql", 1, "init")]
    [InlineData("SmartHub.AuthService.Migrations.0012_api_keys.sql", 12, "api_keys")]
    [InlineData("Migrations.0003_add-index.sql", 3, "add-index")]
    public void Resource_names_give_version_and_name(string resourceName, int version, string name)
    {
        Assert.Equal((version, name), MigrationScript.ParseResourceName(resourceName));
    }

    [Theory]
    [InlineData("SmartHub.CoreService.Migrations.init.sql")]
    [InlineData("SmartHub.CoreService.Migrations.0001_init.txt")]
    [InlineData("SmartHub.CoreService.Seed.0001_init.sql")]
    [InlineData("SmartHub.CoreService.appsettings.json")]
    public void Other_resources_are_ignored(string resourceName)
    {
        Assert.Null(MigrationScript.ParseResourceName(resourceName));
    }

    [Fact]
    public void Migrations_are_ordered_by_version()
    {
        var ordered = MigrationScript.Order(
            [new(10, "ten", ""), new(2, "two", ""), new(1, "one", "")],
            "test");

        Assert.Equal([1, 2, 10], ordered.Select(m => m.Version));
    }

    [Fact]
    public void Duplicate_versions_fail_naming_both()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            MigrationScript.Order([new(1, "init", ""), new(1, "other", "")], "test"));

        Assert.Contains("'init'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'other'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lock_key_is_stable_per_database_and_differs_between_databases()
    {
        Assert.Equal(MigrationLock.KeyFor("coredb"), MigrationLock.KeyFor("coredb"));
        Assert.NotEqual(MigrationLock.KeyFor("coredb"), MigrationLock.KeyFor("authdb"));

        // Fixed across processes and releases: replicas of different builds must agree.
        Assert.Equal(MigrationLock.KeyFor("coredb"), MigrationLock.KeyFor(new string("coredb".ToCharArray())));
    }

    [Theory]
    [InlineData(1, 0.8, 1.2)]
    [InlineData(2, 1.6, 2.4)]
    [InlineData(3, 3.2, 4.8)]
    [InlineData(10, 24, 30)]
    [InlineData(1000, 24, 30)]
    public void Backoff_grows_exponentially_with_jitter_up_to_30_seconds(int failures, double minSeconds, double maxSeconds)
    {
        foreach (var jitter in new[] { 0.0, 0.5, 1.0 })
        {
            var delay = MigrationBackoff.Delay(failures, jitter).TotalSeconds;
            Assert.InRange(delay, minSeconds, maxSeconds);
        }
    }
}
