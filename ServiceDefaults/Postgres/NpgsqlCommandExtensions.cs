using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres;

public static class NpgsqlCommandExtensions
{
    /// <summary>Adds a parameter; null becomes DBNull.</summary>
    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static T? GetNullable<T>(this NpgsqlDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(ordinal) ? default : reader.GetFieldValue<T>(ordinal);
    }

    public static DateTimeOffset? GetNullableTime(this NpgsqlDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
    }
}
