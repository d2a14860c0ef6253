using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Redis;

public sealed class RedisOptionsTests
{
    [Fact]
    public void Parses_the_AppHost_connection_string()
    {
        var options = RedisOptions.Parse("127.0.0.1:6380,password=secret,abortConnect=false");

        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal(6380, options.Port);
        Assert.Equal("secret", options.Password);
        Assert.Null(options.User);
        Assert.False(options.AbortConnect);
        Assert.Equal(0, options.Database);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ConnectTimeout);
        Assert.Equal("127.0.0.1:6380", options.Address);
    }

    [Fact]
    public void Parses_every_supported_key_case_insensitively()
    {
        var options = RedisOptions.Parse(
            " cache.internal:7000 , other:1, User=app ,PASSWORD=p=ss ,ssl=false,defaultDatabase=3,connectTimeout=1500,syncTimeout=900,"
            + "asyncTimeout=700,abortConnect=TRUE,name=gateway,allowAdmin=true,$CONFIG=");

        Assert.Equal("cache.internal", options.Host);
        Assert.Equal(7000, options.Port);
        Assert.Equal("app", options.User);
        Assert.Equal("p=ss", options.Password);
        Assert.Equal(3, options.Database);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(700), options.CommandTimeout);
        Assert.True(options.AbortConnect);
        Assert.Equal("gateway", options.ClientName);
    }

    [Fact]
    public void Sync_timeout_applies_when_async_timeout_is_absent()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(250), RedisOptions.Parse("h,syncTimeout=250").CommandTimeout);
    }

    [Theory]
    [InlineData("localhost", "localhost", 6379, "localhost:6379")]
    [InlineData("[::1]:6390", "::1", 6390, "[::1]:6390")]
    [InlineData("[::1]", "::1", 6379, "[::1]:6379")]
    [InlineData("::1", "::1", 6379, "[::1]:6379")]
    public void Parses_endpoints(string text, string host, int port, string address)
    {
        var options = RedisOptions.Parse(text);

        Assert.Equal(host, options.Host);
        Assert.Equal(port, options.Port);
        Assert.Equal(address, options.Address);
    }

    [Theory]
    [InlineData("h:6379,defaultDatabase=x", "defaultDatabase")]
    [InlineData("h:6379,defaultDatabase=-1", "defaultDatabase")]
    [InlineData("h:6379,connectTimeout=0", "connectTimeout")]
    [InlineData("h:6379,asyncTimeout=soon", "asyncTimeout")]
    [InlineData("h:6379,syncTimeout=-5", "syncTimeout")]
    [InlineData("h:6379,abortConnect=maybe", "abortConnect")]
    [InlineData("h:6379,ssl=yes", "ssl")]
    [InlineData("h:99999", "h:99999")]
    [InlineData("h:port", "h:port")]
    public void Bad_values_name_the_key(string connectionString, string key)
    {
        var ex = Assert.Throws<ArgumentException>(() => RedisOptions.Parse(connectionString));

        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ssl_true_is_rejected_as_not_supported()
    {
        var ex = Assert.Throws<ArgumentException>(() => RedisOptions.Parse("h:6380,ssl=true,password=x"));

        Assert.Contains("ssl=true", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not supported", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("password=x,abortConnect=false")]
    [InlineData(",,")]
    public void A_missing_endpoint_is_rejected(string connectionString)
    {
        var ex = Assert.Throws<ArgumentException>(() => RedisOptions.Parse(connectionString));

        Assert.Contains("no endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_connection_string_is_rejected()
    {
        Assert.ThrowsAny<ArgumentException>(() => RedisOptions.Parse(" "));
    }

    [Fact]
    public void ToString_never_shows_the_password()
    {
        var options = RedisOptions.Parse("redis:6379,user=svc,password=TopSecret123,name=core");

        var text = options.ToString();

        Assert.DoesNotContain("TopSecret123", text, StringComparison.Ordinal);
        Assert.Contains("password=*****", text, StringComparison.Ordinal);
        Assert.StartsWith("redis:6379,user=svc", text, StringComparison.Ordinal);
        Assert.Contains("name=core", text, StringComparison.Ordinal);
        Assert.DoesNotContain("TopSecret123", (options with { Database = 2 }).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_never_show_the_password()
    {
        var ex = Assert.Throws<ArgumentException>(() => RedisOptions.Parse("h:1,password=TopSecret123,defaultDatabase=z"));

        Assert.DoesNotContain("TopSecret123", ex.Message, StringComparison.Ordinal);
    }
}
