using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Configuration;

namespace SmartHub.Hosting.Testing;

/// <summary>A graph declared by an AppHost entry point, captured for a test before it runs.</summary>
public interface IDistributedApplicationTestingBuilder : IAsyncDisposable
{
    ConfigurationManager Configuration { get; }
    IReadOnlyList<Resource> Resources { get; }

    /// <summary>The state folder of this instance: a new temporary one unless the test gave SMARTHUB_STATE_DIR.</summary>
    string StateDirectory { get; }

    IResourceBuilder<T> CreateResourceBuilder<T>(string name) where T : Resource;

    Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The counterpart of Aspire.Hosting.Testing: runs the AppHost's entry point up to <c>Build()</c>, gives each instance
/// its own temporary state folder and random ports (the gateway too), keeps resource output off the console, and tears
/// everything down — processes and temporary folder — when the application is disposed, even after a failed test.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    public static Task<IDistributedApplicationTestingBuilder> CreateAsync<TEntryPoint>(CancellationToken cancellationToken = default) where TEntryPoint : class =>
        CreateAsync<TEntryPoint>([], cancellationToken);

    public static async Task<IDistributedApplicationTestingBuilder> CreateAsync<TEntryPoint>(string[] args, CancellationToken cancellationToken = default) where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(args);
        var entryPoint = typeof(TEntryPoint).Assembly.EntryPoint
            ?? throw new InvalidOperationException($"{typeof(TEntryPoint).Assembly.GetName().Name} has no entry point: pass the AppHost's Program type.");

        var given = new ConfigurationBuilder().AddCommandLine(args).Build()["SMARTHUB_STATE_DIR"];
        var temporary = given is null;
        var stateDirectory = given ?? CreateTemporaryStateDirectory();
        var hooks = new TestingHooks(new Dictionary<string, string?>
        {
            ["SMARTHUB_STATE_DIR"] = stateDirectory,
            ["SMARTHUB_GATEWAY_PORT"] = "0",
            // As Aspire's testing builder: no dashboard (nor telemetry export) unless a test turns it on, with
            // builder.Configuration["SMARTHUB_DASHBOARD_ENABLED"] = "true"; then on free ports.
            ["SMARTHUB_DASHBOARD_ENABLED"] = "false",
            ["SMARTHUB_DASHBOARD_PORT"] = "0",
            ["SMARTHUB_DASHBOARD_OTLP_GRPC_PORT"] = "0",
            ["SMARTHUB_DASHBOARD_OTLP_HTTP_PORT"] = "0",
            ["SmartHub:EchoResourceOutput"] = Environment.GetEnvironmentVariable("SMARTHUB_TEST_ECHO") == "1" ? "true" : "false",
            ["SmartHub:HealthIntervalSeconds"] = "1",
        });

        var run = Task.Run(() =>
        {
            // The hook flows with this task's async context only: parallel tests each capture their own builder.
            DistributedApplicationBuilder.Hooks.Value = hooks;
            try
            {
                var result = entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args]);
                if (result is Task task)
                {
                    task.GetAwaiter().GetResult();
                }

                hooks.Fail(new InvalidOperationException("The AppHost entry point returned without calling Build()."));
            }
            catch (Exception ex) when (Unwrap(ex) is EntryPointCapturedException)
            {
            }
            catch (Exception ex)
            {
                hooks.Fail(Unwrap(ex));
            }
        }, cancellationToken);

        DistributedApplicationBuilder builder;
        try
        {
            builder = await hooks.Captured.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (temporary)
            {
                DeleteQuietly(stateDirectory);
            }

            throw;
        }

        await run.ConfigureAwait(false);
        hooks.Released = true;
        return new TestingBuilder(builder, stateDirectory, temporary);
    }

    private static Exception Unwrap(Exception ex) => ex is TargetInvocationException { InnerException: { } inner } ? Unwrap(inner) : ex;

    private static string CreateTemporaryStateDirectory()
    {
        // Under /tmp, whose parents every user can traverse (PostgreSQL runs as its own user when tests run as root).
        var root = Path.Combine(Path.GetTempPath(), "smarthub-tests");
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        var path = Path.Combine(root, $"{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid():N}"[..28]);
        Directory.CreateDirectory(path);
        return path;
    }

    internal static void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private sealed class TestingBuilder(DistributedApplicationBuilder builder, string stateDirectory, bool temporary) : IDistributedApplicationTestingBuilder
    {
        private DistributedApplication? _app;

        public ConfigurationManager Configuration => builder.Configuration;
        public IReadOnlyList<Resource> Resources => builder.Resources;
        public string StateDirectory { get; } = stateDirectory;

        public IResourceBuilder<T> CreateResourceBuilder<T>(string name) where T : Resource =>
            builder.Resources.FirstOrDefault(r => r.Name == name) is T resource
                ? new ResourceBuilder<T>(resource, builder)
                : throw new ArgumentException($"There is no {typeof(T).Name} named '{name}'.", nameof(name));

        public Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _app = builder.Build();
            if (temporary)
            {
                _app.Disposed += () => DeleteQuietly(StateDirectory);
            }

            return Task.FromResult(_app);
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync().ConfigureAwait(false);
            }
            else if (temporary)
            {
                DeleteQuietly(StateDirectory);
            }
        }
    }
}
