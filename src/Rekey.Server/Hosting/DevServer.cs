using Rekey.Access;
using Rekey.Root;

namespace Rekey.Server.Hosting;

/// <summary>
/// The one-command development server: a fresh folder with a new root key file and an embedded
/// SQLite store, listening on loopback, with an admin token for everything. Not for production:
/// the root key sits next to the data, unprotected by any passphrase or HSM.
/// </summary>
public static class DevServer
{
    /// <summary>The dev server's default address.</summary>
    public const string DefaultListen = "http://127.0.0.1:8200";

    /// <summary>Creates the folder (a new temporary one when <paramref name="directory"/> is null), starts the server and issues the root token.</summary>
    public static async Task<(RekeyServerHost Host, string RootToken, string Directory)> StartAsync(
        string listen = DefaultListen,
        string? directory = null,
        Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default,
        Microsoft.Extensions.Logging.LogLevel logLevel = Microsoft.Extensions.Logging.LogLevel.Information,
        bool tls = false)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "rekey-dev-" + Guid.NewGuid().ToString("N")[..12]);
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new RekeyServerOptionsException([$"The dev server needs an empty folder; '{directory}' is not empty."]);
        }

        Storage.PrivateFiles.CreateFolder(directory);

        var keyFile = Path.Combine(directory, "root.key");
        LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        string? certificate = null, certificateKey = null;
        if (tls)
        {
            (certificate, certificateKey) = SelfSignedCertificate.Write(directory);
            listen = listen.Contains("://", StringComparison.Ordinal) ? "https://" + listen[(listen.IndexOf("://", StringComparison.Ordinal) + 3)..] : "https://" + listen;
        }

        var options = new RekeyServerOptions
        {
            Store = Path.Combine(directory, "rekey.db"),
            RootKeyFile = keyFile,
            Listen = listen,
            TlsCert = certificate,
            TlsKey = certificateKey,
            CheckpointInterval = TimeSpan.FromSeconds(10),
            CheckpointEveryEvents = 100,
            LogLevel = logLevel,

            // Short periods, so a user can watch a key rotate, drain and retire by itself.
            Lifecycle = new Lifecycle.LifecycleOptions { MinimumPeriod = TimeSpan.FromSeconds(1), RecheckInterval = TimeSpan.FromSeconds(2), LeaseDuration = TimeSpan.FromSeconds(10) },
        };
        var host = await RekeyServerHost.StartAsync(options, logging, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var (_, secret) = await host.IssueTokenAsync("dev root", new HashSet<Role> { Role.Admin }, [KeyPattern.All], cancellationToken: cancellationToken).ConfigureAwait(false);
            return (host, secret, directory);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
