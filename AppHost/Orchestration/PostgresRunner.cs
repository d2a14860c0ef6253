using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace SmartHub.Hosting.Orchestration;

/// <summary>
/// PostgreSQL from the system binaries: initdb once into the state folder (scram-sha-256, the generated password),
/// then <c>postgres</c> on a loopback port, as the unprivileged user when the AppHost is root. Creates the databases.
/// </summary>
internal sealed class PostgresRunner(PostgresServerResource server, RunContext context) : ProcessRunner(server, context)
{
    private string Folder => Context.State.Combine("postgres");
    private string DataDirectory => Path.Combine(Folder, "data");
    private string SocketDirectory => Path.Combine(Folder, "run");
    private string? RunAsUser => NativeMethods.IsRoot ? Context.Options.PostgresOsUser : null;

    protected override string? Endpoint => $"tcp://127.0.0.1:{server.Port}";

    private string BinDirectory =>
        Context.Options.PostgresBinDirectory
        ?? (Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "postgres")) && File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null)
        ?? string.Empty;

    public override void Validate(List<string> problems)
    {
        var bin = BinDirectory;
        if (!File.Exists(Path.Combine(bin, "postgres")) || !File.Exists(Path.Combine(bin, "initdb")))
        {
            problems.Add(Context.Options.PostgresBinDirectory is null
                ? "PostgreSQL server binaries (initdb, postgres) were not found under /usr/lib/postgresql/*/bin. Install them with `sudo apt-get install -y postgresql` (or run ./smarthub.sh setup), or point SMARTHUB_POSTGRES_BIN at their folder."
                : $"SMARTHUB_POSTGRES_BIN='{Context.Options.PostgresBinDirectory}' does not contain initdb and postgres.");
        }

        if (RunAsUser is { } user && Run("id", ["-u", user]).ExitCode != 0)
        {
            problems.Add($"The AppHost runs as root and PostgreSQL refuses to, but the user '{user}' it would run as does not exist. Install postgresql (it creates the user), or set SMARTHUB_POSTGRES_USER to an unprivileged user.");
        }
    }

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        Directory.CreateDirectory(SocketDirectory);
        File.SetUnixFileMode(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (RunAsUser is { } user)
        {
            Require(Run("chown", ["-R", $"{user}:", Folder]), "give the PostgreSQL folder to its user");
            if (Run("setpriv", [$"--reuid={user}", $"--regid={user}", "--init-groups", "--", "test", "-w", Folder]).ExitCode != 0)
            {
                throw new DistributedApplicationException(
                    $"PostgreSQL runs as the user '{user}' (the AppHost runs as root), and that user cannot reach '{Folder}': a parent folder is not traversable. Make the parents traversable (chmod o+x), or set SMARTHUB_STATE_DIR to a folder it can reach (for example under /var/tmp).");
            }
        }

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        HostConsole.Info($"Initializing a new PostgreSQL cluster in {DataDirectory}.");
        var staging = DataDirectory + ".init";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        var passwordFile = Path.Combine(Folder, ".pwfile");
        StateFolder.WritePrivate(passwordFile, server.Password.Value!);
        try
        {
            if (RunAsUser is { } user)
            {
                Require(Run("chown", [$"{user}:", passwordFile]), "give the password file to the PostgreSQL user");
            }

            var spec = new ProcessSpec(Path.Combine(BinDirectory, "initdb"),
                ["-D", staging, "-U", PostgresServerResource.UserName, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8", "--locale=C", "--no-instructions"],
                Folder, new Dictionary<string, string>()) { RunAsUser = RunAsUser };
            var initdb = ManagedProcess.Start(spec, Log);
            var code = await initdb.Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                throw new DistributedApplicationException($"initdb failed with code {code}.{FormatTail()}");
            }

            // A crash during initdb leaves only the staging folder behind; the next start begins afresh.
            Directory.Move(staging, DataDirectory);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    protected override ProcessSpec CreateSpec() => new(
        Path.Combine(BinDirectory, "postgres"),
        ["-D", DataDirectory, "-p", server.Port!.Value.ToString(CultureInfo.InvariantCulture),
         "-c", "listen_addresses=127.0.0.1", "-c", $"unix_socket_directories={SocketDirectory}",
         "-c", "max_connections=200", "-c", "logging_collector=off"],
        Folder, new Dictionary<string, string>())
    {
        RunAsUser = RunAsUser,
        StopSignal = NativeMethods.SIGINT,
    };

    private NpgsqlConnection Connect(string database = "postgres") => new(new NpgsqlConnectionStringBuilder(server.GetConnectionString())
    {
        Database = database,
        Pooling = false,
        Timeout = 3,
        CommandTimeout = 5,
    }.ConnectionString);

    protected override async Task<(bool Healthy, string? Description)> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = Connect();
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return (true, null);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidPassword)
        {
            throw new DistributedApplicationException(
                $"PostgreSQL in '{DataDirectory}' was initialized with another password than the parameter '{server.Password.Name}' has now. Set Parameters__{server.Password.Name} back to the original value, or delete '{Folder}' to start afresh (its data is lost).");
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
        {
            return (false, ex.Message);
        }
    }

    protected override async Task OnReadyAsync(CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var database in server.Databases)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = database.DatabaseName } } };
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                // Identifiers cannot be bound as parameters; the name is quoted and its quotes doubled.
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.DatabaseName.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                HostConsole.Info($"Created database {database.DatabaseName}.");
            }
        }
    }

    private static (int ExitCode, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(psi)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output.Trim());
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }

    private static void Require((int ExitCode, string Output) result, string what)
    {
        if (result.ExitCode != 0)
        {
            throw new DistributedApplicationException($"Could not {what}: {result.Output}");
        }
    }
}
