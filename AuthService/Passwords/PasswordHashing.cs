using Microsoft.Extensions.Options;
using SmartHub.AuthService.Options;

namespace SmartHub.AuthService.Passwords;

/// <summary>
/// <see cref="PasswordHasher"/> at the configured cost (Auth:PasswordIterations), with at most one hash per core at a
/// time: at 600,000 iterations a hash costs ~100-300 ms of CPU by design, and a burst of logins must queue rather than
/// starve every other request of thread-pool threads.
/// </summary>
public sealed class PasswordHashing(IOptions<AuthOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(Math.Max(1, Environment.ProcessorCount), Math.Max(1, Environment.ProcessorCount));

    public int Iterations => options.Value.PasswordIterations;

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) =>
        RunAsync(() => PasswordHasher.Hash(password, Iterations), cancellationToken);

    public Task<PasswordVerification> VerifyAsync(string password, string encoded, CancellationToken cancellationToken) =>
        RunAsync(() => PasswordHasher.Verify(password, encoded, Iterations), cancellationToken);

    public Task SimulateAsync(string password, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            PasswordHasher.Simulate(password, Iterations);
            return true;
        }, cancellationToken);

    public void Dispose() => _gate.Dispose();

    private async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return work();
        }
        finally
        {
            _gate.Release();
        }
    }
}
