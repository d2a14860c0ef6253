using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.CoreService.Credits;

public static class CreditsExtensions
{
    /// <summary>
    /// The ledger, account opening, caps, the expiry job and their validated options. Call after
    /// <c>AddNpgsqlDataSource("coredb")</c>, which checks the connection string and gives coredb its health check.
    /// </summary>
    public static IHostApplicationBuilder AddCredits(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<CreditsOptions>().BindConfiguration(CreditsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddKeyedSingleton(CreditLedger.DataSourceKey, (provider, _) => BuildLedgerDataSource(
            builder.Configuration.GetConnectionString("coredb")!,
            provider.GetRequiredService<IOptions<CreditsOptions>>().Value.LedgerMaxPoolSize,
            provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<CreditAccounts>();
        services.AddSingleton<AuthDirectory>();
        services.AddSingleton<CreditCaps>();
        services.AddHttpClient(AuthDirectory.HttpClientName);
        services.AddHostedService<ReservationExpiry>();
        services.AddDependencyUnavailableHandling();
        return builder;
    }

    /// <summary>
    /// The ledger's own pool on coredb. Its connections only ever call the ledger's SQL functions and plain queries, which
    /// change no session state (no SET, temporary table, LISTEN or advisory lock; an open transaction is rolled back
    /// whenever a connection goes back to the pool regardless), so two of Npgsql's defaults that cost it half its
    /// database CPU are off here and stay on in the shared "coredb" source (migrations take session advisory locks):
    /// <list type="bullet">
    /// <item>No Reset On Close: by default every connection returned to the pool runs DISCARD ALL before its next
    /// command, and DISCARD ALL drops every cached plan of the session, so each ledger function re-planned all its
    /// statements on every call (PL/pgSQL caches them per session).</item>
    /// <item>Max Auto Prepare: the few ledger statements are prepared once per connection, not parsed and planned per call.</item>
    /// </list>
    /// Its size is <see cref="CreditsOptions.LedgerMaxPoolSize"/> (32), not Npgsql's 100: one-request-per-call load at
    /// 256 concurrent callers opened 100 ledger connections, which with the other pools ran PostgreSQL (200 connections
    /// for every service) out of connections.
    /// </summary>
    internal static NpgsqlDataSource BuildLedgerDataSource(string connectionString, int maxPoolSize, ILoggerFactory loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = CreditLedger.DataSourceKey };
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        builder.ConnectionStringBuilder.MaxPoolSize = maxPoolSize;
        builder.ConnectionStringBuilder.MinPoolSize = Math.Min(builder.ConnectionStringBuilder.MinPoolSize, maxPoolSize);
        builder.UseLoggerFactory(loggerFactory);
        return builder.Build();
    }
}
