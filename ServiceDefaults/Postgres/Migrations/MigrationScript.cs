using System.Reflection;
using System.Text.RegularExpressions;

namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>One versioned SQL migration: embedded resource <c>Migrations/NNNN_name.sql</c>.</summary>
public sealed partial record MigrationScript(int Version, string Name, string Sql)
{
    [GeneratedRegex(@"(?:^|\.)Migrations\.(?<version>[0-9]{4,9})_(?<name>[A-Za-z0-9_\-]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceNamePattern();

    /// <summary>Parses "SmartHub.CoreService.Migrations.0001_init.sql" → (1, "init"); null for other resources.</summary>
    public static (int Version, string Name)? ParseResourceName(string resourceName)
    {
        ArgumentNullException.ThrowIfNull(resourceName);

        var match = ResourceNamePattern().Match(resourceName);
        if (!match.Success)
        {
            return null;
        }

        return (int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups["name"].Value);
    }

    /// <summary>The assembly's migrations ordered by version; duplicate versions or version 0 are errors.</summary>
    public static IReadOnlyList<MigrationScript> LoadFrom(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);

        var scripts = new List<MigrationScript>();
        foreach (var resourceName in assembly.GetManifestResourceNames())
        {
            if (ParseResourceName(resourceName) is not var (version, name))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resourceName)
                ?? throw new InvalidOperationException($"Embedded migration '{resourceName}' cannot be read.");
            using var reader = new StreamReader(stream);
            scripts.Add(new MigrationScript(version, name, reader.ReadToEnd()));
        }

        return Order(scripts, assembly.GetName().Name ?? "assembly");
    }

    public static IReadOnlyList<MigrationScript> Order(IEnumerable<MigrationScript> scripts, string source)
    {
        ArgumentNullException.ThrowIfNull(scripts);

        var ordered = scripts.OrderBy(s => s.Version).ToList();
        if (ordered.Count > 0 && ordered[0].Version <= 0)
        {
            throw new InvalidOperationException($"Migration versions in {source} start at 1 (found {ordered[0].Version:0000}_{ordered[0].Name}).");
        }

        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Version == ordered[i - 1].Version)
            {
                throw new InvalidOperationException(
                    $"Two migrations in {source} share version {ordered[i].Version:0000}: '{ordered[i - 1].Name}' and '{ordered[i].Name}'.");
            }
        }

        return ordered;
    }
}
