using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rekey.Access;
using Rekey.Api;
using Rekey.Audit;
using Rekey.Root;
using Rekey.Server.Access;
using Rekey.Server.Endpoints;
using Prometheus;
using Rekey.Server.Http;
using Rekey.Server.Metrics;
using Rekey.Storage;
using Rekey.Hosting;

namespace Rekey.Server.Hosting;

/// <summary>
/// A running Rekey server: its store, root key and service, Kestrel listening on the configured
/// address, and the audit checkpoint worker. Dispose to stop it; usage counts are flushed and the
/// root key zeroed.
/// </summary>
public sealed class RekeyServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RekeyStack _stack;
    private readonly ILoggerFactory _storeLogging;
    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private int _disposed;

    private RekeyServerHost(WebApplication app, RekeyStack stack, ILoggerFactory storeLogging, TimeProvider time, Uri address)
    {
        _app = app;
        _stack = stack;
        _storeLogging = storeLogging;
        _store = stack.Store;
        _time = time;
        Service = stack.Service;
        Address = address;
    }

    /// <summary>Where the server listens (with the real port when 0 was asked for).</summary>
    public Uri Address { get; }

    /// <summary>The service behind the API.</summary>
    public RekeyService Service { get; }

    /// <summary>The store behind the service.</summary>
    public IKeyStore Store => _store;

    /// <summary>Validates the options, opens the root key and the store, and starts listening.</summary>
    /// <exception cref="RekeyServerOptionsException">The options are not usable.</exception>
    public static async Task<RekeyServerHost> StartAsync(RekeyServerOptions options, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new RekeyServerOptionsException(problems);
        }

        time ??= TimeProvider.System;

        // The store starts before the web host does and logs in the background from then on, so
        // it gets a factory of its own, configured as the host's (same providers, level, filters).
        var storeLogging = LoggerFactory.Create(builder =>
        {
            logging?.Invoke(builder);
            ServerLogging.Configure(builder, options.LogLevel);
        });
        RekeyStack stack;
        try
        {
            stack = await RekeyStack.OpenAsync(options.ToStackOptions(), time, loggerFactory: storeLogging, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            storeLogging.Dispose();
            throw;
        }

        try
        {
            var (root, store, service) = (stack.Root, stack.Store, stack.Service);
            var app = Build(options, store, service, root, time, logging);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw new RekeyServerOptionsException([$"{options.Listen} is already in use by another process: stop that process, or listen elsewhere with --listen (REKEY_LISTEN), for example --listen 127.0.0.1:8300."]);
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var uri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
            ServerLog.Started(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Rekey.Server"), HealthEndpoints.Version, uri.ToString(), options.IsPostgres ? "PostgreSQL" : "SQLite");
            return new RekeyServerHost(app, stack, storeLogging, time, uri);
        }
        catch
        {
            await stack.DisposeAsync().ConfigureAwait(false);
            storeLogging.Dispose();
            throw;
        }
    }

    /// <summary>Issues a token directly against the store (the first admin token, for one); audited as the server.</summary>
    public Task<(AccessToken Token, string Secret)> IssueTokenAsync(string name, IReadOnlySet<Role> roles, IReadOnlyList<KeyPattern> patterns, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        TokenIssuer.IssueAsync((ITokenStore)_store, name, roles, patterns, timeToLive, new ChangeContext("server"), _time, cancellationToken);

    /// <summary>
    /// Gives the running server the roots <paramref name="options"/> name now, without a restart
    /// (see <see cref="RekeyStack.ReloadRootsAsync"/>). When they cannot be opened, the server keeps
    /// the roots it has and logs why; returns null then.
    /// </summary>
    public Task<RootReload?> ReloadRootsAsync(RekeyStackOptions options, CancellationToken cancellationToken = default) =>
        ReloadRootsAsync(() => options, cancellationToken);

    /// <summary>As <see cref="ReloadRootsAsync(RekeyStackOptions, CancellationToken)"/>, reading the configuration with <paramref name="read"/>; a configuration that cannot be read is logged like roots that cannot be opened.</summary>
    public async Task<RootReload?> ReloadRootsAsync(Func<RekeyStackOptions> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Rekey.Server");
        try
        {
            var reload = await _stack.ReloadRootsAsync(read(), cancellationToken).ConfigureAwait(false);
            logger.RootsReloaded(reload.Primary, reload.Previous.Count == 0 ? "none" : string.Join(", ", reload.Previous));
            foreach (var kept in reload.KeptUnconfigured)
            {
                logger.RootKept(kept);
            }

            return reload;
        }
        catch (Exception e) when (e is Rekey.Errors.RekeyException or Rekey.Errors.RekeyStoreException or RekeyServerOptionsException or IOException)
        {
            logger.RootsNotReloaded(e.Message);
            return null;
        }
    }

    /// <summary>Waits until the server is stopped (Ctrl+C, SIGTERM, or <paramref name="cancellationToken"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>The server's services, for tests that drive a background worker directly.</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>The endpoints the server maps, for tests that hold them against the policy table.</summary>
    internal IEnumerable<Microsoft.AspNetCore.Routing.RouteEndpoint> Endpoints =>
        _app.Services.GetServices<Microsoft.AspNetCore.Routing.EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        ServerLog.Stopping(_app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Rekey.Server"), Address.ToString());
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _stack.DisposeAsync().ConfigureAwait(false);
        _storeLogging.Dispose();
    }

    private static WebApplication Build(RekeyServerOptions options, IKeyStore store, RekeyService service, IRootKeyProvider root, TimeProvider time, Action<ILoggingBuilder>? logging)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Rekey.Server", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        ServerLogging.Configure(builder.Logging, options.LogLevel);
        RekeyServerOptions.TryParseListen(options.Listen, out var endpoint);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Listen(endpoint, listen =>
            {
                if (options.ListensHttps)
                {
                    // The certificate is picked per handshake, so a reloaded one applies to new connections only.
                    var certificate = kestrel.ApplicationServices.GetRequiredService<TlsCertificate>();
                    listen.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificate.Current);
                }
            });
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(new Transit.TransitMounts(options.TransitMounts));
        if (options.ListensHttps)
        {
            services.AddSingleton(sp => new TlsCertificate(options.TlsCert!, options.TlsKey!, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Rekey.Server.Tls"), time));
        }

        services.AddSingleton(time);
        services.AddSingleton(store);
        services.AddSingleton((ITokenStore)store);
        services.AddSingleton((IAuditCheckpointStore)store);
        services.AddSingleton(service);
        services.AddSingleton(new TokenAuthenticator((ITokenStore)store, time, options.TokenCacheTtl));
        services.AddHostedService<CheckpointWorker>();
        services.AddHostedService<UsageFlushWorker>();
        services.AddHostedService<RetireDeadlineWorker>();
        services.AddSingleton(new RefusalLimiter(options.AuditedRefusalsPerMinute));
        services.AddSingleton<RefusalSummaryWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RefusalSummaryWorker>());
        services.AddSingleton((IRewrapJobStore)store);
        services.AddSingleton(sp => new Rekey.Rewrap.DataSources(
            (IDataSourceStore)store,
            root,
            new Rekey.Rewrap.DataSourceOptions { OnSourceError = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Rekey.Server.DataSources").SourceFailed },
            time));
        services.AddSingleton(sp => new Rekey.Rewrap.RewrapJobs(service, (IRewrapJobStore)store, null, time, sp.GetRequiredService<Rekey.Rewrap.DataSources>()));
        services.AddHostedService<RewrapJobWorker>();
        services.AddSingleton(new Rekey.Lifecycle.InventoryGate((IDataSourceStore)store, (IRewrapJobStore)store));
        services.AddSingleton(new Rekey.Lifecycle.LifecyclePolicies(service, (ILifecycleStore)store, options.Lifecycle, time));
        services.AddSingleton(sp => new Rekey.Lifecycle.RotationRecords((ILifecycleStore)store, sp.GetRequiredService<Rekey.Rewrap.RewrapJobs>(), sp.GetRequiredService<Rekey.Lifecycle.InventoryGate>(), time));
        services.AddSingleton(sp => new Rekey.Lifecycle.LifecycleScheduler(
            service,
            (ILifecycleStore)store,
            sp.GetRequiredService<Rekey.Lifecycle.RotationRecords>(),
            sp.GetRequiredService<Rekey.Lifecycle.InventoryGate>(),
            $"server:{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}",
            options.Lifecycle,
            time));
        services.AddHostedService<LifecycleWorker>();
        services.AddSingleton(sp => new Rekey.Lifecycle.ApprovalBoard((IApprovalStore)store, service, sp.GetRequiredService<Rekey.Lifecycle.LifecyclePolicies>(), time));
        services.AddSingleton(sp => new Rekey.Lifecycle.ComplianceReports(service, sp.GetRequiredService<Rekey.Lifecycle.LifecyclePolicies>(), (ILifecycleStore)store, (IRewrapJobStore)store, (IAuditCheckpointStore)store, time));
        var metrics = new RekeyMetrics([.. options.MetricsKeyPatterns.Select(Rekey.Access.KeyPattern.Parse)], options.Metrics);
        services.AddSingleton(metrics);
        services.AddSingleton(sp => new StoreGauges((IStoreStatistics)store, sp.GetRequiredService<Rekey.Rewrap.RewrapJobs>(), sp.GetRequiredService<Rekey.Lifecycle.LifecyclePolicies>(), metrics, time));
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        services.AddOpenApi("v1", openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Rekey";
            document.Info.Description = "Envelope encryption with versioned keys and zero-downtime rotation. Errors are application/problem+json with a stable 'code'.";
            return Task.CompletedTask;
        }).AddOperationTransformer(OpenApiMetadata.DescribeBodyAsync));

        var app = builder.Build();
        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<DotSegmentGuard>();
        app.UseRouting();
        app.UseMiddleware<AccessMiddleware>();
        HealthEndpoints.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json").WithName(EndpointNames.OpenApi);
        KeyEndpoints.Map(app);
        VersionEndpoints.Map(app);
        CryptoEndpoints.Map(app);
        FileEndpoints.Map(app);
        AuditEndpoints.Map(app);
        TokenEndpoints.Map(app);
        RewrapEndpoints.Map(app);
        SourceEndpoints.Map(app);
        LifecycleEndpoints.Map(app);
        ApprovalEndpoints.Map(app);
        var transit = app.Services.GetRequiredService<Transit.TransitMounts>();
        Transit.VaultSysEndpoints.Map(app);
        if (transit.Names.Count > 0)
        {
            Transit.TransitKeyEndpoints.Map(app, transit);
            Transit.TransitCryptoEndpoints.Map(app, transit);
        }

        if (metrics.Enabled)
        {
            // Only this server's meter, in a registry of its own: two servers in one process (tests) count apart.
            var registry = Prometheus.Metrics.NewCustomRegistry();
            var gauges = app.Services.GetRequiredService<StoreGauges>();
            var bridge = new PrometheusBridge(metrics.Meter, registry, gauges.RefreshAsync);
            app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(bridge.Dispose);
            app.MapMetrics("/metrics", registry).WithName(EndpointNames.Metrics);
        }

        app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(metrics.Dispose);
        return app;
    }
}
