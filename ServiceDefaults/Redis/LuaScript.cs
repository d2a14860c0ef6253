using System.Security.Cryptography;
using System.Text;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// A Lua script and its SHA1, computed once. Keep instances in static fields;
/// <see cref="RedisCommands.ScriptEvaluateAsync"/> sends EVALSHA and falls back to EVAL when the server answers NOSCRIPT
/// (after a restart or SCRIPT FLUSH), which also caches the script on the server again.
/// </summary>
public sealed class LuaScript
{
    public LuaScript(string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        Source = source;
#pragma warning disable CA5350 // Redis names scripts by SHA1; no security depends on it
        Sha1 = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(source)));
#pragma warning restore CA5350
    }

    public string Source { get; }

    /// <summary>Lower-case hex SHA1 of the UTF-8 source, as SCRIPT LOAD returns it.</summary>
    public string Sha1 { get; }

    public override string ToString() => $"LuaScript({Sha1})";
}
