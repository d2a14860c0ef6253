using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using NpgsqlTypes;
using SmartHub.AuthService.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.AuthService.Signing;

/// <summary>The keys can't be used yet (database unreachable, nothing created yet): token issuance answers 503.</summary>
public sealed class SigningKeyUnavailableException : DependencyUnavailableException
{
    public SigningKeyUnavailableException()
    {
    }

    public SigningKeyUnavailableException(string message)
        : base(message)
    {
    }

    public SigningKeyUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// ES256 signing keys in authdb (table signing_keys), private parts sealed with <see cref="KeyEncryption"/>.
/// <see cref="EnsureAsync"/> (at start and hourly, under a transaction-scoped advisory lock so two replicas never both
/// create one) makes sure a key is active, pre-publishes the next one <see cref="PrePublish"/> before the active one
/// retires (so gateways know its kid before the first token signed with it arrives), and retires keys it cannot decrypt.
/// In memory: every published (not yet expired) public key, and the private key of the active one only.
/// </summary>
public sealed class SigningKeyStore : IDisposable
{
    /// <summary>Lead time of the next key in the JWKS: more than the hourly maintenance interval plus the 10 min JWKS cache.</summary>
    public static readonly TimeSpan PrePublish = TimeSpan.FromHours(2);

    /// <summary>How long expired keys stay in the table (never published) before they are deleted.</summary>
    private static readonly TimeSpan s_history = TimeSpan.FromDays(30);

    private static readonly TimeSpan s_unknownKidReloadInterval = TimeSpan.FromSeconds(10);

    /// <summary>pg_advisory_xact_lock key of key creation ("SHKSIGN1").</summary>
    private const long LockKey = 0x53484B5349474E31;

    private readonly NpgsqlDataSource _dataSource;
    private readonly KeyEncryption _encryption;
    private readonly AuthOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<SigningKeyStore> _logger;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private volatile State? _state;
    private long _lastReload = long.MinValue;

    public SigningKeyStore(NpgsqlDataSource dataSource, IOptions<AuthOptions> options, TimeProvider timeProvider, ILogger<SigningKeyStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = dataSource;
        _options = options.Value;
        _encryption = new KeyEncryption(_options.KeyEncryptionKey);
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>True while a key is active for signing.</summary>
    public bool IsReady => _state?.Active is { } active && active.IsActiveAt(_timeProvider.GetUtcNow());

    public string? ActiveKid => _state?.Active?.Kid;

    /// <summary>Public keys to publish: every key not yet expired (including the pre-published next one).</summary>
    public IReadOnlyList<EcPublicJwk> PublishedKeys()
    {
        var now = _timeProvider.GetUtcNow();
        return _state is { } state ? [.. state.Keys.Where(k => k.ExpiresAt > now).Select(k => k.Jwk)] : [];
    }

    /// <summary>The active key's credentials; reloads (and if need be creates) when none is active in memory.</summary>
    /// <exception cref="SigningKeyUnavailableException">No key could be made active.</exception>
    public async ValueTask<SigningCredentials> GetSigningCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_state?.Active is { } active && active.IsActiveAt(_timeProvider.GetUtcNow()))
        {
            return active.Credentials;
        }

        await _reloadGate.WaitAsync(cancellationToken);
        try
        {
            if (_state?.Active is { } again && again.IsActiveAt(_timeProvider.GetUtcNow()))
            {
                return again.Credentials;
            }

            await EnsureCoreAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SigningKeyUnavailableException("The signing keys cannot be loaded: the database is unavailable.", ex);
        }
        finally
        {
            _reloadGate.Release();
        }

        return _state?.Active is { } loaded && loaded.IsActiveAt(_timeProvider.GetUtcNow())
            ? loaded.Credentials
            : throw new SigningKeyUnavailableException("No signing key is active.");
    }

    /// <summary>
    /// A published public key by kid; an unknown kid reloads from the database at most every 10 s (another replica may
    /// have created it).
    /// </summary>
    public async ValueTask<SecurityKey?> FindPublicKeyAsync(string kid, CancellationToken cancellationToken)
    {
        if (Find(kid) is { } key)
        {
            return key;
        }

        var now = _timeProvider.GetTimestamp();
        var last = Interlocked.Read(ref _lastReload);
        if (last != long.MinValue && _timeProvider.GetElapsedTime(last, now) < s_unknownKidReloadInterval)
        {
            return null;
        }

        await _reloadGate.WaitAsync(cancellationToken);
        try
        {
            if (Find(kid) is { } loaded)
            {
                return loaded;
            }

            last = Interlocked.Read(ref _lastReload);
            if (last == long.MinValue || _timeProvider.GetElapsedTime(last, _timeProvider.GetTimestamp()) >= s_unknownKidReloadInterval)
            {
                await LoadAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            if (_state is null)
            {
                throw new JwksUnavailableException("The signing keys cannot be loaded: the database is unavailable.", ex);
            }
        }
        finally
        {
            _reloadGate.Release();
        }

        return Find(kid);
    }

    /// <summary>Creates or rotates keys as needed, then reloads. Run at start and hourly by <see cref="SigningKeyMaintenance"/>.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        await _reloadGate.WaitAsync(cancellationToken);
        try
        {
            await EnsureCoreAsync(cancellationToken);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    public void Dispose()
    {
        _encryption.Dispose();
        _reloadGate.Dispose();
    }

    private SecurityKey? Find(string kid)
    {
        if (_state is not { } state)
        {
            return null;
        }

        foreach (var key in state.Keys)
        {
            if (key.Kid == kid)
            {
                return key.Key;
            }
        }

        return null;
    }

    private async Task EnsureCoreAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
            {
                lockCommand.Parameters.AddWithValue("key", LockKey);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken);
            }

            var rows = new List<KeyRow>();
            await using (var select = new NpgsqlCommand(
                """
                SELECT kid, activates_at, retires_at, private_key_ciphertext, private_key_nonce, private_key_tag
                FROM signing_keys WHERE retires_at > @now ORDER BY activates_at
                """, connection, transaction))
            {
                select.Parameters.AddWithValue("now", now);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new KeyRow(
                        reader.GetString(0),
                        reader.GetFieldValue<DateTimeOffset>(1),
                        reader.GetFieldValue<DateTimeOffset>(2),
                        new EncryptedKey(reader.GetFieldValue<byte[]>(4), reader.GetFieldValue<byte[]>(5), reader.GetFieldValue<byte[]>(3))));
                }
            }

            // Keys sealed under another Auth:KeyEncryptionKey cannot sign: retire them (keep publishing until their
            // tokens expire) or, if they never signed, drop them.
            foreach (var row in rows.ToList())
            {
                if (CanDecrypt(row))
                {
                    continue;
                }

                _logger.LogError(
                    "Signing key {Kid} cannot be decrypted with the configured Auth:KeyEncryptionKey (was it changed?); retiring it and creating a new key",
                    row.Kid);
                rows.Remove(row);
                if (row.ActivatesAt > now)
                {
                    await ExecuteAsync(connection, transaction, "DELETE FROM signing_keys WHERE kid = @kid", cancellationToken, ("kid", row.Kid));
                }
                else
                {
                    var retiresAt = row.ActivatesAt >= now ? row.ActivatesAt.AddMilliseconds(1) : now;
                    await ExecuteAsync(connection, transaction,
                        "UPDATE signing_keys SET retires_at = @retires, expires_at = @expires WHERE kid = @kid", cancellationToken,
                        ("kid", row.Kid), ("retires", retiresAt), ("expires", retiresAt + _options.AccessTokenLifetime + AuthOptions.ClockSkew));
                }
            }

            var active = rows.LastOrDefault(r => r.ActivatesAt <= now && r.RetiresAt > now);
            if (active is null)
            {
                var kid = await CreateAsync(connection, transaction, now, now + _options.SigningKeyRotation, now, cancellationToken);
                _logger.LogInformation("Created signing key {Kid} (active now)", kid);
            }
            else if (!rows.Any(r => r.ActivatesAt > now) && active.RetiresAt - now <= PrePublish)
            {
                var kid = await CreateAsync(connection, transaction, active.RetiresAt, active.RetiresAt + _options.SigningKeyRotation, now, cancellationToken);
                _logger.LogInformation("Created signing key {Kid}, published now, signing from {ActivatesAt:O} when {Previous} retires",
                    kid, active.RetiresAt, active.Kid);
            }

            await ExecuteAsync(connection, transaction, "DELETE FROM signing_keys WHERE expires_at < @before", cancellationToken,
                ("before", now - s_history));
            await transaction.CommitAsync(cancellationToken);
        }

        await LoadAsync(cancellationToken);
    }

    private bool CanDecrypt(KeyRow row)
    {
        try
        {
            CryptographicOperations.ZeroMemory(_encryption.Decrypt(row.Sealed, row.Kid));
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private async Task<string> CreateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, DateTimeOffset activatesAt, DateTimeOffset retiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = EcJwk.Thumbprint(ecdsa);
        var jwk = EcJwk.FromKey(ecdsa, kid);
        var pkcs8 = ecdsa.ExportPkcs8PrivateKey();
        EncryptedKey sealedKey;
        try
        {
            sealedKey = _encryption.Encrypt(pkcs8, kid);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }

        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_ciphertext, private_key_nonce, private_key_tag,
                                      created_at, activates_at, retires_at, expires_at)
            VALUES (@kid, @alg, @jwk, @ciphertext, @nonce, @tag, @now, @activates, @retires, @expires)
            """, connection, transaction);
        insert.Parameters.AddWithValue("kid", kid);
        insert.Parameters.AddWithValue("alg", SmartHubAuth.SigningAlgorithm);
        insert.Parameters.AddWithValue("jwk", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(jwk, AuthJsonContext.Default.EcPublicJwk));
        insert.Parameters.AddWithValue("ciphertext", sealedKey.Ciphertext);
        insert.Parameters.AddWithValue("nonce", sealedKey.Nonce);
        insert.Parameters.AddWithValue("tag", sealedKey.Tag);
        insert.Parameters.AddWithValue("now", now);
        insert.Parameters.AddWithValue("activates", activatesAt);
        insert.Parameters.AddWithValue("retires", retiresAt);
        insert.Parameters.AddWithValue("expires", retiresAt + _options.AccessTokenLifetime + AuthOptions.ClockSkew);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return kid;
    }

    /// <summary>Reads the published keys and decrypts the active one (reusing it when it has not changed).</summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var keys = new List<PublishedKey>();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using (var select = new NpgsqlCommand(
            "SELECT kid, public_jwk::text, activates_at, retires_at, expires_at FROM signing_keys WHERE expires_at > @now ORDER BY activates_at",
            connection))
        {
            select.Parameters.AddWithValue("now", now);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var kid = reader.GetString(0);
                var jwk = JsonSerializer.Deserialize(reader.GetString(1), AuthJsonContext.Default.EcPublicJwk);
                if (jwk is null || EcJwk.ToSecurityKey(jwk) is not { } key)
                {
                    _logger.LogError("Signing key {Kid} has an unusable public JWK; not publishing it", kid);
                    continue;
                }

                keys.Add(new PublishedKey(kid, jwk, key, reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3),
                    reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }

        var activeRow = keys.LastOrDefault(k => k.ActivatesAt <= now && k.RetiresAt > now);
        var current = _state?.Active;
        ActiveKey? active = null;
        if (activeRow is not null)
        {
            if (current is not null && current.Kid == activeRow.Kid)
            {
                active = current;
            }
            else
            {
                active = await DecryptAsync(connection, activeRow, cancellationToken);
            }
        }

        _state = new State(keys, active);
        Interlocked.Exchange(ref _lastReload, _timeProvider.GetTimestamp());
    }

    private async Task<ActiveKey?> DecryptAsync(NpgsqlConnection connection, PublishedKey row, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(
            "SELECT private_key_ciphertext, private_key_nonce, private_key_tag FROM signing_keys WHERE kid = @kid", connection);
        select.Parameters.AddWithValue("kid", row.Kid);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var sealedKey = new EncryptedKey(reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(0));
        byte[] pkcs8;
        try
        {
            pkcs8 = _encryption.Decrypt(sealedKey, row.Kid);
        }
        catch (CryptographicException)
        {
            _logger.LogError("Signing key {Kid} cannot be decrypted with the configured Auth:KeyEncryptionKey; no token can be signed until it is rotated",
                row.Kid);
            return null;
        }

        try
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            var key = new ECDsaSecurityKey(ecdsa) { KeyId = row.Kid };
            return new ActiveKey(row.Kid, new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256), row.ActivatesAt, row.RetiresAt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private sealed record KeyRow(string Kid, DateTimeOffset ActivatesAt, DateTimeOffset RetiresAt, EncryptedKey Sealed);

    private sealed record PublishedKey(string Kid, EcPublicJwk Jwk, SecurityKey Key, DateTimeOffset ActivatesAt, DateTimeOffset RetiresAt, DateTimeOffset ExpiresAt);

    private sealed record ActiveKey(string Kid, SigningCredentials Credentials, DateTimeOffset ActivatesAt, DateTimeOffset RetiresAt)
    {
        public bool IsActiveAt(DateTimeOffset now) => ActivatesAt <= now && now < RetiresAt;
    }

    private sealed record State(IReadOnlyList<PublishedKey> Keys, ActiveKey? Active);
}
