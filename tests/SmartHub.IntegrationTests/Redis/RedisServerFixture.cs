using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Redis;

/// <summary>
/// A private redis-server for one test class: loopback, random port, random password, no persistence, data in a temp
/// folder. Independent of the AppHost. <see cref="Kill"/> and <see cref="StartAsync"/> let tests take it down and bring
/// it back on the same port; it is stopped by its PID on dispose.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public const string ServerPath = "/usr/bin/redis-server";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private Process? _process;

    public int Port { get; } = FreePort();

    public string Password { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "smarthub-redis-" + Guid.NewGuid().ToString("N"));

    public string ConnectionString => $"127.0.0.1:{Port},password={Password},abortConnect=false";

    public RedisOptions Options(string? extra = null) =>
        RedisOptions.Parse(extra is null ? ConnectionString : $"{ConnectionString},{extra}");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        await StartAsync();
    }

    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("redis-server is already running.");
        }

        var start = new ProcessStartInfo(ServerPath)
        {
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--requirepass", Password,
            "--dir", Directory,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", Path.Combine(Directory, "redis.log"),
        })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        await WaitUntilListeningAsync();
    }

    /// <summary>SIGKILL by PID, as a crash would: clients see their connection drop.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    public Task DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process!.HasExited)
            {
                var log = Path.Combine(Directory, "redis.log");
                throw new InvalidOperationException(
                    $"redis-server exited with {_process.ExitCode}: {(File.Exists(log) ? await File.ReadAllTextAsync(log) : "no log")}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < StartTimeout)
            {
                await Task.Delay(20);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
