using System.Globalization;
using System.Text.Json;

namespace SmartHub.Benchmarks.CreditsBench;

/// <summary>Command line of the driver; credits.sh fills it from the AppHost's summary table and state folder.</summary>
internal sealed class BenchOptions
{
    public required Uri Core { get; init; }
    public required Uri Gateway { get; init; }
    public required string StateDirectory { get; init; }
    public required int PostgresPort { get; init; }

    /// <summary>Processes whose CPU is reported, by resource name (postgres counts its backends too).</summary>
    public required IReadOnlyDictionary<string, int> Pids { get; init; }

    public int Seconds { get; init; } = 5;
    public int Rounds { get; init; } = 3;
    public IReadOnlyList<int> Workers { get; init; } = [16, 64, 128, 256];
    public int Users { get; init; } = 1000;

    /// <summary>Warm-up rounds at least (at most 10): 3 for a fresh hub; fewer when the same hub was just measured.</summary>
    public int MinWarmupRounds { get; init; } = 3;
    public IReadOnlyList<Mode> Modes { get; init; } = Enum.GetValues<Mode>();

    /// <summary>Extra Npgsql settings of the baseline's data source (diagnostics: "No Reset On Close=true", ...).</summary>
    public string DbOptions { get; init; } = string.Empty;

    /// <summary>CreditsClient's requests in flight at most (client modes), and operations per request at most.</summary>
    public int ClientRequests { get; init; } = 4;
    public int ClientBatch { get; init; } = 128;

    public string InternalToken { get; private set; } = string.Empty;
    public string PostgresPassword { get; private set; } = string.Empty;
    public string AdminEmail { get; private set; } = "admin@smarthub.local";
    public string AdminPassword { get; private set; } = string.Empty;

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Password={PostgresPassword};Database={database}";

    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value pairs, got '{args[i]}'.");
            }

            values[args[i][2..]] = args[++i];
        }

        string Required(string name) => values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required.");
        int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var options = new BenchOptions
        {
            Core = new Uri(Required("core")),
            Gateway = new Uri(Required("gateway")),
            StateDirectory = Required("state"),
            PostgresPort = Int("postgres-port", 0),
            Pids = Required("pids").Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('='))
                .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture)),
            Seconds = Int("seconds", 5),
            Rounds = Int("rounds", 3),
            Users = Int("users", 1000),
            MinWarmupRounds = Int("min-warmup-rounds", 3),
            Workers = values.TryGetValue("workers", out var w)
                ? w.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray()
                : [16, 64, 128, 256],
            ClientRequests = Int("client-requests", 4),
            ClientBatch = Int("client-batch", 128),
            DbOptions = values.GetValueOrDefault("db-options", string.Empty),
            Modes = values.TryGetValue("modes", out var m)
                ? m.Split(',').Select(ModeNames.Parse).ToArray()
                : Enum.GetValues<Mode>(),
        };

        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(options.StateDirectory, "parameters.json")));
        string? Parameter(string name) => parameters.RootElement.TryGetProperty(name, out var p) ? p.GetString() : null;
        options.InternalToken = Parameter("internal-token") ?? throw new InvalidOperationException("internal-token is not in parameters.json");
        options.PostgresPassword = Parameter("postgres-password") ?? throw new InvalidOperationException("postgres-password is not in parameters.json");
        options.AdminPassword = Parameter("admin-password") ?? throw new InvalidOperationException("admin-password is not in parameters.json");
        options.AdminEmail = Parameter("admin-email") ?? options.AdminEmail;
        return options;
    }
}

/// <summary>
/// What one measurement drives, for 1,000 users or one: CreditsClient (McpServer's client: overlapping calls share
/// requests to /internal/credits/batch and transactions), one HTTP request per call (/reserve, /capture), or straight to
/// the SQL functions (the baseline).
/// </summary>
internal enum Mode
{
    ClientUsers,
    HttpUsers,
    DbUsers,
    ClientHot,
    HttpHot,
    DbHot,
}

internal static class ModeNames
{
    public static string Name(this Mode mode) => mode switch
    {
        Mode.ClientUsers => "client-users",
        Mode.HttpUsers => "http-users",
        Mode.DbUsers => "db-users",
        Mode.ClientHot => "client-hot",
        Mode.HttpHot => "http-hot",
        _ => "db-hot",
    };

    public static bool IsHot(this Mode mode) => mode is Mode.ClientHot or Mode.HttpHot or Mode.DbHot;

    public static Mode Parse(string name) =>
        Enum.GetValues<Mode>().FirstOrDefault(m => m.Name() == name, (Mode)(-1)) is var mode && Enum.IsDefined(mode)
            ? mode
            : throw new ArgumentException($"Unknown mode '{name}': client-users, http-users, db-users, client-hot, http-hot, db-hot.");
}
