using Rekey.Api;
using Rekey.Client;
using Rekey.Keys;
using Rekey.Rewrap;
using Rekey.Server.Endpoints;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary>Where <c>rekey rewrap</c> sends its work: the local store (jobs run in this process) or a server (jobs run there; the CLI watches).</summary>
internal interface IRewrapBackend : IAsyncDisposable
{
    bool RunsLocally { get; }

    /// <summary>Starts a job over the registered source the request names, or (locally only) over <paramref name="inline"/>.</summary>
    Task<RewrapJobResource> StartAsync(KeyName key, RewrapJobRequest request, SourceDefinition? inline, CancellationToken cancellationToken);

    /// <summary>Runs (locally) or watches (remotely) a job until it stops, reporting progress.</summary>
    Task<RewrapJobResource> RunAsync(string id, IProgress<RewrapJobResource> progress, CancellationToken cancellationToken);

    Task<RewrapJobResource> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<RewrapJobResource>> ListAsync(CancellationToken cancellationToken);

    Task<RewrapJobResource> ControlAsync(string id, string action, CancellationToken cancellationToken);

    Task<IReadOnlyList<RewrapFailureResource>> FailuresAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<InventoryResource>> InventoryAsync(KeyName key, CancellationToken cancellationToken);

    Task<DataSourceResource> RegisterSourceAsync(DataSourceRequest request, CancellationToken cancellationToken);

    Task<IReadOnlyList<DataSourceResource>> ListSourcesAsync(CancellationToken cancellationToken);

    Task<DataSourceResource> GetSourceAsync(string name, CancellationToken cancellationToken);

    Task RemoveSourceAsync(string name, CancellationToken cancellationToken);
}

/// <summary>Jobs in the local store, run in this process.</summary>
internal sealed class LocalRewrapBackend : IRewrapBackend
{
    private readonly Rekey.Hosting.RekeyStack _open;
    private readonly DataSources _sources;
    private readonly RewrapJobs _jobs;
    private readonly ChangeContext _change = new(StoreHome.ActorName());
    private readonly string _owner = $"cli:{Environment.MachineName}:{Environment.ProcessId}";

    public LocalRewrapBackend(Rekey.Hosting.RekeyStack open)
    {
        _open = open;

        // The person running the CLI locally has the files and the network already: they see the real error.
        _sources = new DataSources((IDataSourceStore)open.Store, open.Root, new DataSourceOptions { OnSourceError = (name, e) => Console.Error.WriteLine($"data source '{name}': {e.Message}") });
        _jobs = new RewrapJobs(open.Service, (IRewrapJobStore)open.Store, sources: _sources);
    }

    public bool RunsLocally => true;

    public async Task<RewrapJobResource> StartAsync(KeyName key, RewrapJobRequest request, SourceDefinition? inline, CancellationToken cancellationToken) =>
        RewrapMapping.ToResource(await _jobs.StartAsync(RewrapMapping.ToDefinition(key, request, inline), _change with { Reason = request.Reason }, cancellationToken).ConfigureAwait(false));

    public async Task<DataSourceResource> RegisterSourceAsync(DataSourceRequest request, CancellationToken cancellationToken) =>
        RewrapMapping.ToResource(await _sources.RegisterAsync(RewrapMapping.ToRegistration(request), _change with { Reason = request.Reason }, cancellationToken).ConfigureAwait(false));

    public async Task<IReadOnlyList<DataSourceResource>> ListSourcesAsync(CancellationToken cancellationToken) =>
        (await _sources.ListAsync(cancellationToken).ConfigureAwait(false)).Select(RewrapMapping.ToResource).ToList();

    public async Task<DataSourceResource> GetSourceAsync(string name, CancellationToken cancellationToken) =>
        RewrapMapping.ToResource(await _sources.GetAsync(name, cancellationToken).ConfigureAwait(false));

    public Task RemoveSourceAsync(string name, CancellationToken cancellationToken) => _sources.RemoveAsync(name, _change, cancellationToken);

    public async Task<RewrapJobResource> RunAsync(string id, IProgress<RewrapJobResource> progress, CancellationToken cancellationToken)
    {
        var current = await _jobs.GetStatusAsync(id, cancellationToken).ConfigureAwait(false);
        if (current.State is RewrapJobState.Paused or RewrapJobState.Failed)
        {
            await _jobs.ResumeAsync(id, _change, cancellationToken).ConfigureAwait(false);
        }

        var status = await _jobs.RunAsync(id, _owner, new Mapped(progress), cancellationToken).ConfigureAwait(false);
        return RewrapMapping.ToResource(status);
    }

    public async Task<RewrapJobResource> GetAsync(string id, CancellationToken cancellationToken) =>
        RewrapMapping.ToResource(await _jobs.GetStatusAsync(id, cancellationToken).ConfigureAwait(false));

    public async Task<IReadOnlyList<RewrapJobResource>> ListAsync(CancellationToken cancellationToken) =>
        (await _jobs.ListAsync(cancellationToken).ConfigureAwait(false)).Select(RewrapMapping.ToResource).ToList();

    public async Task<RewrapJobResource> ControlAsync(string id, string action, CancellationToken cancellationToken) =>
        RewrapMapping.ToResource(action switch
        {
            "pause" => await _jobs.PauseAsync(id, _change, cancellationToken).ConfigureAwait(false),
            "resume" => await _jobs.ResumeAsync(id, _change, cancellationToken).ConfigureAwait(false),
            _ => await _jobs.CancelAsync(id, _change, cancellationToken).ConfigureAwait(false),
        });

    public async Task<IReadOnlyList<RewrapFailureResource>> FailuresAsync(string id, CancellationToken cancellationToken) =>
        (await _jobs.GetFailuresAsync(id, 10_000, cancellationToken).ConfigureAwait(false)).Select(f => new RewrapFailureResource(f.RecordId, f.Column, f.Version, f.Reason, f.At)).ToList();

    public async Task<IReadOnlyList<InventoryResource>> InventoryAsync(KeyName key, CancellationToken cancellationToken) =>
        (await _jobs.GetInventoryAsync(key, cancellationToken).ConfigureAwait(false)).Select(c => new InventoryResource(c.Source, c.Version, c.Count, c.CountedAt)).ToList();

    public ValueTask DisposeAsync() => _open.DisposeAsync();

    private sealed class Mapped(IProgress<RewrapJobResource> inner) : IProgress<RewrapJobStatus>
    {
        public void Report(RewrapJobStatus value) => inner.Report(RewrapMapping.ToResource(value));
    }
}

/// <summary>Jobs on a server, which runs them; the CLI only asks and watches.</summary>
internal sealed class RemoteRewrapBackend(RekeyClient client) : IRewrapBackend
{
    private static readonly HashSet<string> Ended = ["Completed", "Cancelled", "Failed", "Paused"];

    public bool RunsLocally => false;

    public Task<RewrapJobResource> StartAsync(KeyName key, RewrapJobRequest request, SourceDefinition? inline, CancellationToken cancellationToken) =>
        inline is null
            ? client.StartRewrapJobAsync(key, request, cancellationToken)
            : throw new UsageException("Against a server, a job names a registered data source: register it with 'rekey source add', then pass --source NAME.");

    public Task<DataSourceResource> RegisterSourceAsync(DataSourceRequest request, CancellationToken cancellationToken) => client.RegisterSourceAsync(request, cancellationToken);

    public Task<IReadOnlyList<DataSourceResource>> ListSourcesAsync(CancellationToken cancellationToken) => client.ListSourcesAsync(cancellationToken);

    public Task<DataSourceResource> GetSourceAsync(string name, CancellationToken cancellationToken) => client.GetSourceAsync(name, cancellationToken);

    public Task RemoveSourceAsync(string name, CancellationToken cancellationToken) => client.RemoveSourceAsync(name, cancellationToken);

    public async Task<RewrapJobResource> RunAsync(string id, IProgress<RewrapJobResource> progress, CancellationToken cancellationToken)
    {
        var status = await client.GetRewrapJobAsync(id, cancellationToken).ConfigureAwait(false);
        if (status.State is "Paused" or "Failed")
        {
            status = await client.ControlRewrapJobAsync(id, "resume", cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            progress.Report(status);
            if (Ended.Contains(status.State))
            {
                return status;
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            status = await client.GetRewrapJobAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<RewrapJobResource> GetAsync(string id, CancellationToken cancellationToken) => client.GetRewrapJobAsync(id, cancellationToken);

    public Task<IReadOnlyList<RewrapJobResource>> ListAsync(CancellationToken cancellationToken) => client.ListRewrapJobsAsync(cancellationToken);

    public Task<RewrapJobResource> ControlAsync(string id, string action, CancellationToken cancellationToken) => client.ControlRewrapJobAsync(id, action, cancellationToken);

    public Task<IReadOnlyList<RewrapFailureResource>> FailuresAsync(string id, CancellationToken cancellationToken) => client.GetRewrapFailuresAsync(id, cancellationToken);

    public async Task<IReadOnlyList<InventoryResource>> InventoryAsync(KeyName key, CancellationToken cancellationToken) =>
        (await client.GetInventoryAsync(key, cancellationToken).ConfigureAwait(false)).Counts;

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}
