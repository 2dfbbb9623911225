using System.CommandLine;
using Microsoft.Extensions.Logging;
using Rekey.Server.Hosting;

namespace Rekey.Cli;

/// <summary><c>rekey server</c>: runs the HTTP API, or with <c>--dev</c> a throwaway development server.</summary>
internal static class ServerCommand
{
    public static Command Build(GlobalOptions globals)
    {
        var dev = new Option<bool>("--dev") { Description = "Start a development server: fresh folder, embedded SQLite, a root token printed. Not for production." };
        var listen = new Option<string?>("--listen") { Description = $"Address to listen on (default {RekeyServerOptions.DefaultListen}; REKEY_LISTEN)." };
        var config = new Option<string?>("--config") { Description = "A JSON configuration file (keys: " + string.Join(", ", ServerConfiguration.Keys) + ")." };
        var store = new Option<string?>("--store") { Description = "SQLite file path or PostgreSQL connection string (REKEY_STORE). Default: the store in --dir." };
        var rootKeyFile = new Option<string?>("--root-key-file") { Description = "The root key file (REKEY_ROOT_KEY_FILE)." };
        var rootSpec = new Option<string?>("--root") { Description = "The root as one setting (REKEY_ROOT): file:PATH; pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR (a key in an HSM; the PIN from the environment or pin-file=PATH, never here); or awskms:key=ID|ARN|alias/NAME[;region=R] (credentials from the AWS chain)." };
        var previousRoots = new Option<string[]>("--previous-root") { Description = "A root that wrapped material before --root, in the same form; repeat for several (REKEY_PREVIOUS_ROOTS__0, __1...). It reads what it wrapped until 'rekey root migrate' has moved it.", AllowMultipleArgumentsPerToken = false };
        var rootParams = new Option<string?>("--root-params-file") { Description = "The passphrase root key's parameters (REKEY_ROOT_PARAMS_FILE)." };
        var rootPassphraseEnv = new Option<string?>("--root-passphrase-env") { Description = "Environment variable holding the root passphrase (REKEY_ROOT_PASSPHRASE_ENV)." };
        var maxBody = new Option<long?>("--max-request-body-bytes") { Description = "Largest request body accepted (default 1 MiB; REKEY_MAX_REQUEST_BODY_BYTES)." };
        var devDir = new Option<string?>("--dev-dir") { Description = "With --dev: use this empty folder instead of a new temporary one." };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "A PEM certificate (chain) to serve HTTPS with; reloaded when it changes (REKEY_TLS_CERT)." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The certificate's PEM private key (REKEY_TLS_KEY)." };
        var devTls = new Option<bool>("--dev-tls") { Description = "With --dev: serve HTTPS with a throwaway self-signed certificate, and print the REKEY_CACERT to trust it with." };
        var checkConfig = new Option<bool>("--check-config") { Description = "Load and validate the configuration (file, environment, flags) and the root key, report, and exit without serving." };
        var command = new Command("server", "Run the Rekey HTTP API server.") { dev, listen, config, store, rootKeyFile, rootSpec, previousRoots, rootParams, rootPassphraseEnv, maxBody, devDir, checkConfig, tlsCert, tlsKey, devTls };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var stdout = globals.Stdout;
            if (parse.GetValue(dev))
            {
                // The dev server takes its log settings from the environment only.
                var devLog = ServerConfiguration.Load(null, new Dictionary<string, string?>());
                var keep = parse.GetValue(devDir) is not null;
                var (devHost, token, folder) = await DevServer.StartAsync(parse.GetValue(listen) ?? DevServer.DefaultListen, parse.GetValue(devDir), l => ServerLogging.AddConsole(l, devLog.LogFormat), ct, devLog.LogLevel, parse.GetValue(devTls)).ConfigureAwait(false);
                try
                {
                    await using var running = devHost;
                    var address = devHost.Address.ToString().TrimEnd('/');
                    var lifetime = keep ? "kept when the server stops" : "deleted, root key included, when the server stops; --dev-dir DIR keeps one";
                    await stdout.WriteLineAsync($"""
                        Rekey dev server listening on {address}
                        Data folder: {folder} ({lifetime})

                        Point the CLI and curl at it:

                            export REKEY_ADDR={address}
                            export REKEY_TOKEN={token}{(parse.GetValue(devTls) ? $"\n    export REKEY_CACERT={Path.Combine(folder, "tls.crt")}   # curl: --cacert \"$REKEY_CACERT\"" : string.Empty)}

                        WARNING: development mode, not for production. The root key is a plain file next to the
                        data in a temporary folder, and the token above can do everything. Press Ctrl+C to stop.
                        """).ConfigureAwait(false);
                    await stdout.FlushAsync(ct).ConfigureAwait(false);
                    await devHost.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
                finally
                {
                    // Like 'vault server -dev': nothing of a throwaway server outlives it.
                    if (!keep && Directory.Exists(folder))
                    {
                        Directory.Delete(folder, recursive: true);
                    }
                }

                return ExitCodes.Ok;
            }

            var flags = new Dictionary<string, string?>
            {
                ["listen"] = parse.GetValue(listen),
                ["store"] = parse.GetValue(store),
                ["root_key_file"] = parse.GetValue(rootKeyFile),
                ["root"] = parse.GetValue(rootSpec),
                ["root_params_file"] = parse.GetValue(rootParams),
                ["root_passphrase_env"] = parse.GetValue(rootPassphraseEnv),
                ["max_request_body_bytes"] = parse.GetValue(maxBody)?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["tls_cert"] = parse.GetValue(tlsCert),
                ["tls_key"] = parse.GetValue(tlsKey),
            };
            foreach (var (previous, index) in (parse.GetValue(previousRoots) ?? []).Select((p, i) => (p, i)))
            {
                flags["previous_roots:" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)] = previous;
            }

            var options = ServerConfiguration.Load(parse.GetValue(config), flags);
            string? home = null;
            if (options.Store is null && options.RootKeyFile is null && options.RootPassphraseEnv is null && options.Root is null)
            {
                // Nothing configured: serve the store 'rekey init' made in --dir.
                var opened = StoreHome.Open(parse.GetValue(globals.Dir)!);
                opened.ConfigureServer(options);
                home = opened.Directory;
            }

            if (parse.GetValue(checkConfig))
            {
                var problems = options.Validate();
                if (problems.Count > 0)
                {
                    throw new RekeyServerOptionsException(problems);
                }

                // The root key is read as the server would (mode, format, passphrase), then zeroed.
                await (await Rekey.Hosting.RekeyStack.OpenRingAsync(options.ToStackOptions(), ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
                var store = options.IsPostgres ? "PostgreSQL " + Rekey.Storage.Postgres.PostgresConnectionString.Redact(options.Store!) : "SQLite " + options.Store;
                await stdout.WriteLineAsync($"Configuration OK: {store}; root key {(options.RootKeyFile ?? options.Root ?? options.RootParamsFile)}; listen {options.Listen}; log {options.LogLevel.ToString().ToLowerInvariant()} {options.LogFormat}.").ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            await using var host = await RekeyServerHost.StartAsync(options, l => ServerLogging.AddConsole(l, options.LogFormat), cancellationToken: ct).ConfigureAwait(false);

            // The roots are read again on SIGHUP and when rekey.json changes, so a root migration needs no restart.
            using var reload = new RootReloadTrigger(
                host,
                () =>
                {
                    var again = ServerConfiguration.Load(parse.GetValue(config), flags);
                    if (home is not null)
                    {
                        StoreHome.Open(home).ConfigureServer(again);
                    }

                    return again.ToStackOptions();
                },
                home);
            await stdout.WriteLineAsync($"Rekey server listening on {host.Address.ToString().TrimEnd('/')} ({(options.IsPostgres ? "PostgreSQL" : "SQLite " + options.Store)}). Press Ctrl+C to stop.").ConfigureAwait(false);
            await stdout.FlushAsync(ct).ConfigureAwait(false);
            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
