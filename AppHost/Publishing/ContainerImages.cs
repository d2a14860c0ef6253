namespace SmartHub.Hosting.Publishing;

/// <summary>
/// The images PostgreSQL and Redis run from when published, one choice for both publishers (the manifest and Kubernetes
/// must not deploy different servers). Pinned tags of the official Debian-based images, whose users are uid/gid 999.
/// </summary>
internal static class ContainerImages
{
    /// <summary>
    /// PostgreSQL 17, the line recent Aspire releases pin, supported to 2029. Locally Debian's PostgreSQL 15 runs; the
    /// migrations (identity columns, declarative partitions, advisory locks) use nothing that differs between the two.
    /// </summary>
    public const string Postgres = "docker.io/library/postgres:17.6";

    /// <summary>Redis 7.2, the last BSD-licensed line (7.4 and later are RSALv2/SSPL, which Aspire 9 pins).</summary>
    public const string Redis = "docker.io/library/redis:7.2.7";
}
