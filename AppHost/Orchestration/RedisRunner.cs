using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace SmartHub.Hosting.Orchestration;

/// <summary>redis-server from the system binary on a loopback port with a password, append-only data in the state folder.</summary>
internal sealed class RedisRunner(RedisResource redis, RunContext context) : ProcessRunner(redis, context)
{
    private string Folder => Context.State.Combine("redis");
    private string ConfigFile => Path.Combine(Folder, "redis.conf");

    protected override string? Endpoint => $"tcp://127.0.0.1:{redis.Port}";

    private string? ServerPath =>
        Context.Options.RedisServerPath
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Select(d => Path.Combine(d, "redis-server"))
            .FirstOrDefault(File.Exists);

    public override void Validate(List<string> problems)
    {
        if (ServerPath is not { } path || !File.Exists(path))
        {
            problems.Add(Context.Options.RedisServerPath is null
                ? "redis-server was not found on PATH. Install it with `sudo apt-get install -y redis-server` (or run ./smarthub.sh setup), or set SMARTHUB_REDIS_SERVER to its path."
                : $"SMARTHUB_REDIS_SERVER='{Context.Options.RedisServerPath}' does not exist.");
        }

        if (redis.Password.Value is { } password && password.Any(c => c is ',' or '"' or '\'' || char.IsWhiteSpace(c)))
        {
            problems.Add($"The parameter '{redis.Password.Name}' must not contain commas, quotes or spaces (it goes into a Redis connection string).");
        }
    }

    protected override Task PrepareAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        File.SetUnixFileMode(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return Task.CompletedTask;
    }

    protected override ProcessSpec CreateSpec()
    {
        // The password goes into a 0600 file rather than the command line, where `ps` would show it.
        StateFolder.WritePrivate(ConfigFile, string.Join('\n',
            "bind 127.0.0.1",
            "protected-mode yes",
            $"port {redis.Port!.Value.ToString(CultureInfo.InvariantCulture)}",
            $"requirepass {redis.Password.Value}",
            $"dir {Folder}",
            "daemonize no",
            "appendonly yes",
            "appendfsync everysec",
            "save 60 1",
            "maxclients 10000",
            "logfile \"\"") + "\n");
        return new ProcessSpec(ServerPath!, [ConfigFile], Folder, new Dictionary<string, string>());
    }

    protected override async Task<(bool Healthy, string? Description)> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", redis.Port!.Value, cancellationToken).ConfigureAwait(false);
            var stream = client.GetStream();
            var password = Encoding.UTF8.GetBytes(redis.Password.Value!);
            var request = Encoding.UTF8.GetBytes($"*2\r\n$4\r\nAUTH\r\n${password.Length}\r\n{redis.Password.Value}\r\n*1\r\n$4\r\nPING\r\n");
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            var buffer = new byte[256];
            var received = new StringBuilder();
            while (!received.ToString().Contains("PONG", StringComparison.Ordinal) && !received.ToString().Contains('-', StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            var reply = received.ToString();
            return reply.StartsWith("+OK\r\n+PONG", StringComparison.Ordinal) ? (true, null) : (false, reply.Trim());
        }
        catch (SocketException ex)
        {
            return (false, ex.Message);
        }
    }
}
