using System.Net.Sockets;
using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>Short, secret-free descriptions of database failures for health checks and logs.</summary>
public static class PostgresFailure
{
    /// <summary>"Connection refused", "3D000: database \"coredb\" does not exist", "timed out", ...</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);

        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case PostgresException postgres:
                    return $"{postgres.SqlState}: {postgres.MessageText}";
                case SocketException socket:
                    return socket.Message;
                case TimeoutException:
                    return "timed out";
                case OperationCanceledException:
                    return "timed out";
            }
        }

        var innermost = exception;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost.Message;
    }

    /// <summary>
    /// Errors the server raises when it cannot serve rather than when the statement is wrong: connection (08), rollback
    /// from a deadlock or serialization failure (40), insufficient resources (53), operator intervention such as a
    /// shutdown or a statement timeout (57), system errors (58), and a database that does not exist yet (3D).
    /// </summary>
    public static bool IsOutage(PostgresException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.SqlState.Length >= 2 && exception.SqlState[..2] is "08" or "40" or "53" or "57" or "58" or "3D";
    }

    /// <summary>
    /// Failures that resolve themselves when the server is (back) up: network errors, timeouts,
    /// server starting or shutting down, too many connections, database not created yet.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException { SqlState: "3D000" or "57P01" or "57P02" or "57P03" or "53300" } => true,
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: SocketException or TimeoutException or IOException } => true,
        SocketException or TimeoutException or IOException => true,
        _ => false,
    };
}
