using System.Diagnostics;
using Microsoft.Playwright;

namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>
/// One headless Chromium for a test collection, driven with Playwright: Debian's <c>/usr/bin/chromium</c> (installed by
/// <c>./smarthub.sh setup</c>), or <c>SMARTHUB_CHROMIUM</c>. Playwright's own browser builds are never used nor
/// downloaded (no internet here): the package's driver (its bundled node, copied under <c>.playwright/</c> in the build
/// output) launches the given executable. <see cref="NewPageAsync"/> gives each test its own browser context, so
/// cookies and storage are not shared between tests. Disposing closes the browser and stops the driver: no Chromium or
/// node process outlives the collection.
/// </summary>
/// <remarks>
/// Use it through <see cref="BrowserCollection"/>: <c>[Collection(BrowserCollection.Name)]</c> on the test class, with
/// the fixture as a constructor parameter. The tests of one collection run one after the other (one browser on two
/// cores).
/// </remarks>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumVariable = "SMARTHUB_CHROMIUM";
    public const string DefaultChromium = "/usr/bin/chromium";

    /// <summary>Launch bound: a cold start here takes well under a second, a busy CI machine a few.</summary>
    public static readonly TimeSpan LaunchTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default bound of each page action and wait (Playwright's own default is 30 s): a failing test fails fast.</summary>
    public static readonly TimeSpan ActionTimeout = TimeSpan.FromSeconds(10);

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The Chromium executable that was launched.</summary>
    public string ChromiumPath { get; private set; } = "";

    /// <summary>From <c>Playwright.CreateAsync</c> (starts the driver) to the browser being ready.</summary>
    public TimeSpan LaunchTime { get; private set; }

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not launched yet.");

    /// <summary>
    /// What worked here with Debian's Chromium 156 as root: Playwright would add <c>--no-sandbox</c> by itself (its
    /// <c>chromiumSandbox</c> defaults to false); it is explicit because Chromium refuses to run as root without it
    /// (CI runs as root). No GPU here; no background requests (component updates, safe browsing) to the internet.
    /// </summary>
    public static BrowserTypeLaunchOptions LaunchOptions(string chromiumPath) => new()
    {
        ExecutablePath = chromiumPath,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        Timeout = (float)LaunchTimeout.TotalMilliseconds,
    };

    /// <summary>
    /// The Chromium to launch: <paramref name="configured"/> (the value of <c>SMARTHUB_CHROMIUM</c>) when set, else
    /// <c>/usr/bin/chromium</c>. A missing one fails with what to run, rather than skipping the browser tests.
    /// </summary>
    public static string ResolveChromium(string? configured)
    {
        var path = string.IsNullOrWhiteSpace(configured) ? DefaultChromium : configured;
        if (!File.Exists(path))
        {
            var origin = string.IsNullOrWhiteSpace(configured) ? "the default path" : ChromiumVariable;
            throw new InvalidOperationException(
                $"Chromium was not found at {path} ({origin}); the dashboard's browser tests need it. " +
                $"Run ./smarthub.sh setup (it installs Debian's chromium package), or set {ChromiumVariable} to a " +
                "Chromium executable.");
        }

        return path;
    }

    public async Task InitializeAsync()
    {
        ChromiumPath = ResolveChromium(Environment.GetEnvironmentVariable(ChromiumVariable));
        var stopwatch = Stopwatch.StartNew();
        try
        {
            _playwright = await Playwright.CreateAsync().WaitAsync(LaunchTimeout);
            _browser = await _playwright.Chromium.LaunchAsync(LaunchOptions(ChromiumPath));
        }
        catch
        {
            // Stop the driver now rather than rely on the runner disposing a fixture whose start failed (idempotent).
            await DisposeAsync();
            throw;
        }

        LaunchTime = stopwatch.Elapsed;
    }

    /// <summary>
    /// A page in a new browser context (fresh cookies, storage and cache), with <see cref="ActionTimeout"/> on its
    /// actions and navigations. Close it with <c>await page.Context.CloseAsync()</c> when the test is done; whatever is
    /// left open is closed with the browser.
    /// </summary>
    public async Task<IPage> NewPageAsync(BrowserNewContextOptions? options = null)
    {
        var context = await Browser.NewContextAsync(options);
        context.SetDefaultTimeout((float)ActionTimeout.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)ActionTimeout.TotalMilliseconds);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            // Closes every context and ends the Chromium processes (the browser and its renderers).
            await _browser.CloseAsync();
            await _browser.DisposeAsync();
            _browser = null;
        }

        // Stops the driver (node).
        _playwright?.Dispose();
        _playwright = null;
    }
}

/// <summary>The collection of the tests that share one <see cref="BrowserFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
