using System.Net.Mail;

namespace SmartHub.AuthService.Users;

/// <summary>Input rules for e-mail addresses, passwords and display names.</summary>
public static class Credentials
{
    public const int MaxEmailLength = 254;
    public const int MinPasswordLength = 12;

    /// <summary>Longer passwords are refused before hashing, so a huge one cannot make PBKDF2 expensive (hashing DoS).</summary>
    public const int MaxPasswordLength = 1024;

    public const int MaxDisplayNameLength = 100;

    /// <summary>Trimmed and lower-cased (invariant), so uniqueness and look-ups are case-insensitive.</summary>
    public static string NormalizeEmail(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return email.Trim().ToLowerInvariant();
    }

    /// <summary>An error message, or null when the (normalized) address is acceptable.</summary>
    public static string? ValidateEmail(string? normalized)
    {
        if (string.IsNullOrEmpty(normalized))
        {
            return "The email is required.";
        }

        if (normalized.Length > MaxEmailLength)
        {
            return $"The email must have at most {MaxEmailLength} characters.";
        }

        if (normalized.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
            || !MailAddress.TryCreate(normalized, out var address)
            || !string.Equals(address.Address, normalized, StringComparison.Ordinal)
            || address.Host.Length == 0 || address.User.Length == 0)
        {
            return "The email is not a valid address.";
        }

        return null;
    }

    public static string? ValidatePassword(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return "The password is required.";
        }

        if (password.Length < MinPasswordLength)
        {
            return $"The password must have at least {MinPasswordLength} characters.";
        }

        return password.Length > MaxPasswordLength ? $"The password must have at most {MaxPasswordLength} characters." : null;
    }

    public static string? ValidateDisplayName(string? displayName) =>
        displayName is not null && (displayName.Length > MaxDisplayNameLength || displayName.Any(char.IsControl))
            ? $"The display name must have at most {MaxDisplayNameLength} characters and no control characters."
            : null;
}
