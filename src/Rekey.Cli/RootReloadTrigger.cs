using System.Runtime.InteropServices;
using Rekey.Server.Hosting;

namespace Rekey.Cli;

/// <summary>
/// Gives a running <c>rekey server</c> its roots again when they change: on SIGHUP (the
/// configuration file, environment and flags are read again), and, for a server on a store folder,
/// when <c>rekey.json</c> changes (as <c>rekey root migrate</c> rewrites it). So a migration needs
/// no restart, and new material is wrapped by the new root as soon as the migration starts.
/// </summary>
internal sealed class RootReloadTrigger : IDisposable
{
    // Editors and 'rekey root migrate' write the file, then rename it into place: one reload for the burst.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(200);

    private readonly RekeyServerHost _host;
    private readonly Func<Rekey.Hosting.RekeyStackOptions> _read;
    private readonly FileSystemWatcher? _watcher;
    private readonly PosixSignalRegistration? _hangup;
    private readonly Timer _timer;

    public RootReloadTrigger(RekeyServerHost host, Func<Rekey.Hosting.RekeyStackOptions> read, string? homeDirectory)
    {
        _host = host;
        _read = read;
        _timer = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        if (homeDirectory is not null)
        {
            _watcher = new FileSystemWatcher(homeDirectory, StoreHome.ConfigFile) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
            _watcher.Changed += (_, _) => Schedule();
            _watcher.Created += (_, _) => Schedule();
            _watcher.Renamed += (_, _) => Schedule();
            _watcher.EnableRaisingEvents = true;
        }

        if (!OperatingSystem.IsWindows())
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Schedule();
            });
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _hangup?.Dispose();
        _timer.Dispose();
    }

    private void Schedule() => _timer.Change(Settle, Timeout.InfiniteTimeSpan);

    private void Reload() => _host.ReloadRootsAsync(_read).GetAwaiter().GetResult();
}
