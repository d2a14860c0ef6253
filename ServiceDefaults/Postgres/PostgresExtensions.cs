using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmartHub.ServiceDefaults.Health;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Postgres.Migrations;

namespace Microsoft.Extensions.Hosting;

public static class PostgresExtensions
{
    private static readonly TimeSpan s_healthCheckTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for <c>ConnectionStrings:{connectionName}</c>
    /// (singleton, also keyed by the name) and a health check of the same name tagged "ready".
    /// Fails at start-up when the connection string is missing.
    /// </summary>
    public static TBuilder AddNpgsqlDataSource<TBuilder>(this TBuilder builder, string connectionName)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Connection string '{connectionName}' is missing: set ConnectionStrings__{connectionName} " +
                $"(configuration 'ConnectionStrings:{connectionName}'); the AppHost injects it.");
        }

        PostgresTarget target;
        try
        {
            target = PostgresTarget.FromConnectionString(connectionString);
        }
        catch (ArgumentException exception)
        {
            // The message names the bad keyword, not the value; the connection string is not repeated.
            throw new InvalidOperationException($"Connection string '{connectionName}' is not a valid Npgsql connection string: {exception.Message}", exception);
        }

        builder.Services.AddKeyedSingleton(connectionName, (services, _) =>
        {
            var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString) { Name = connectionName };
            dataSourceBuilder.UseLoggerFactory(services.GetRequiredService<ILoggerFactory>());
            return dataSourceBuilder.Build();
        });
        builder.Services.TryAddSingleton(services => services.GetRequiredKeyedService<NpgsqlDataSource>(connectionName));

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            connectionName,
            services => new NpgsqlHealthCheck(services.GetRequiredKeyedService<NpgsqlDataSource>(connectionName), target, s_healthCheckTimeout),
            HealthStatus.Unhealthy,
            [HealthTags.Ready],
            s_healthCheckTimeout + TimeSpan.FromSeconds(1)));

        return builder;
    }

    /// <summary>
    /// Applies the embedded <c>Migrations/NNNN_name.sql</c> resources of <paramref name="assembly"/>
    /// to the <paramref name="connectionName"/> database at start-up (see <see cref="PostgresMigrator"/>),
    /// with a "{connectionName}-migrations" health check tagged "ready". Call after
    /// <see cref="AddNpgsqlDataSource{TBuilder}"/>.
    /// </summary>
    public static TBuilder AddPostgresMigrations<TBuilder>(this TBuilder builder, string connectionName, Assembly assembly)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        ArgumentNullException.ThrowIfNull(assembly);

        var scripts = MigrationScript.LoadFrom(assembly);
        if (scripts.Count == 0)
        {
            throw new InvalidOperationException(
                $"No migrations found in {assembly.GetName().Name}: add Migrations/0001_name.sql as <EmbeddedResource Include=\"Migrations\\*.sql\" />.");
        }

        var state = new MigrationState(connectionName);
        builder.Services.AddKeyedSingleton(connectionName, state);
        builder.Services.AddKeyedSingleton(connectionName, (services, _) => new DatabaseReadiness(state, services.GetRequiredService<TimeProvider>()));
        builder.Services.TryAddSingleton(services => services.GetRequiredKeyedService<DatabaseReadiness>(connectionName));
        builder.Services.AddSingleton<IHostedService>(services => new PostgresMigrator(
            services.GetRequiredKeyedService<NpgsqlDataSource>(connectionName),
            scripts,
            state,
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<PostgresMigrator>>()));

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{connectionName}-migrations",
            _ => new MigrationsHealthCheck(state),
            HealthStatus.Unhealthy,
            [HealthTags.Ready]));

        return builder;
    }
}
