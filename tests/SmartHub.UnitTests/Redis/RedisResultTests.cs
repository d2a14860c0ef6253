using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Redis;

public sealed class RedisResultTests
{
    [Fact]
    public void Default_is_null()
    {
        RedisResult result = default;

        Assert.True(result.IsNull);
        Assert.Null(result.AsString());
        Assert.Null(result.AsBytes());
        Assert.Null(result.AsNullableLong());
        Assert.False(result.AsBoolean());
        Assert.Empty(result.AsArray());
        Assert.Throws<InvalidCastException>(() => result.AsLong());
    }

    [Fact]
    public void Converts_between_scalar_forms()
    {
        Assert.Equal(12, RedisResult.FromBulkString("12").AsLong());
        Assert.Equal(1.25, RedisResult.FromBulkString("1.25").AsDouble());
        Assert.Equal(double.PositiveInfinity, RedisResult.FromBulkString("inf").AsDouble());
        Assert.Equal("7", RedisResult.FromInteger(7).AsString());
        Assert.True(RedisResult.FromSimpleString("OK").AsBoolean());
        Assert.True(RedisResult.FromInteger(1).AsBoolean());
        Assert.False(RedisResult.FromInteger(0).AsBoolean());
        Assert.Throws<InvalidCastException>(() => RedisResult.FromBulkString("abc").AsLong());
        Assert.Throws<InvalidCastException>(() => RedisResult.FromInteger(1).AsArray());
        Assert.Throws<InvalidCastException>(() => RedisResult.FromArray([]).AsString());
    }

    [Fact]
    public void Nested_errors_throw_when_read()
    {
        var result = RedisResult.FromArray([RedisResult.FromInteger(1), RedisResult.FromError("ERR boom")]);

        Assert.True(result.AsArray()[1].IsError);
        var ex = Assert.Throws<RedisServerException>(() => result.AsArray()[1].AsLong());
        Assert.Equal("ERR boom", ex.Message);
        Assert.Equal("ERR", ex.ErrorCode);
    }

    [Fact]
    public void LuaScript_hashes_like_redis()
    {
        // SCRIPT LOAD "return 1" answers this SHA1.
        Assert.Equal("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", new LuaScript("return 1").Sha1);
    }

    [Fact]
    public void Backoff_grows_exponentially_and_is_capped()
    {
        var first = ConnectionSupervisor.Backoff(0);
        var later = ConnectionSupervisor.Backoff(4);
        var capped = ConnectionSupervisor.Backoff(30);

        Assert.InRange(first.TotalMilliseconds, 40, 60);
        Assert.InRange(later.TotalMilliseconds, 640, 960);
        Assert.InRange(capped.TotalMilliseconds, 4000, 6000);
    }
}
