using Rekey.Api;
using Rekey.Client;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Rewrap;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary>Where <c>rekey policy</c> and <c>rekey rotation</c> go: the local store, or a server (REKEY_ADDR).</summary>
internal interface ILifecycleBackend : IAsyncDisposable
{
    Task<PolicyResource> SetPolicyAsync(PolicySetRequest request, CancellationToken cancellationToken);

    Task<IReadOnlyList<PolicyResource>> ListPoliciesAsync(CancellationToken cancellationToken);

    Task UnsetPolicyAsync(string pattern, string? reason, CancellationToken cancellationToken);

    Task<EffectivePolicyResource> EffectiveAsync(KeyName key, CancellationToken cancellationToken);

    Task<IReadOnlyList<RotationResource>> ListRotationsAsync(KeyName? key, int limit, CancellationToken cancellationToken);

    Task<RotationResource> GetRotationAsync(string id, CancellationToken cancellationToken);

    Task<RotationResource> RetryRotationAsync(string id, string? reason, CancellationToken cancellationToken);
}

/// <summary>Policies and rotation records in the local store (the scheduler itself runs in the server).</summary>
internal sealed class LocalLifecycleBackend : ILifecycleBackend
{
    private readonly Hosting.RekeyStack _open;
    private readonly LifecyclePolicies _policies;
    private readonly RotationRecords _rotations;
    private readonly ChangeContext _change = new(StoreHome.ActorName());

    public LocalLifecycleBackend(Hosting.RekeyStack open)
    {
        _open = open;
        var store = (ILifecycleStore)open.Store;
        _policies = new LifecyclePolicies(open.Service, store);
        var sources = new DataSources((IDataSourceStore)open.Store, open.Root);
        var jobs = new RewrapJobs(open.Service, (IRewrapJobStore)open.Store, sources: sources);
        _rotations = new RotationRecords(store, jobs, new InventoryGate((IDataSourceStore)open.Store, (IRewrapJobStore)open.Store));
    }

    public async Task<PolicyResource> SetPolicyAsync(PolicySetRequest request, CancellationToken cancellationToken) =>
        ApiMapping.ToResource(await _policies.SetAsync(Access.KeyPattern.Parse(request.Pattern!), request.Policy!, _change with { Reason = request.Reason }, cancellationToken).ConfigureAwait(false));

    public async Task<IReadOnlyList<PolicyResource>> ListPoliciesAsync(CancellationToken cancellationToken) =>
        (await _policies.ListAsync(cancellationToken).ConfigureAwait(false)).Select(ApiMapping.ToResource).ToList();

    public Task UnsetPolicyAsync(string pattern, string? reason, CancellationToken cancellationToken) =>
        _policies.UnsetAsync(Access.KeyPattern.Parse(pattern), _change with { Reason = reason }, cancellationToken);

    public async Task<EffectivePolicyResource> EffectiveAsync(KeyName key, CancellationToken cancellationToken) =>
        ApiMapping.ToResource(await _policies.GetEffectiveAsync(key, cancellationToken).ConfigureAwait(false));

    public async Task<IReadOnlyList<RotationResource>> ListRotationsAsync(KeyName? key, int limit, CancellationToken cancellationToken) =>
        (await _rotations.ListAsync(key, limit, cancellationToken).ConfigureAwait(false)).Select(ApiMapping.ToResource).ToList();

    public async Task<RotationResource> GetRotationAsync(string id, CancellationToken cancellationToken) =>
        ApiMapping.ToResource(await _rotations.GetAsync(id, cancellationToken).ConfigureAwait(false));

    public async Task<RotationResource> RetryRotationAsync(string id, string? reason, CancellationToken cancellationToken) =>
        ApiMapping.ToResource(await _rotations.RetryAsync(id, _change with { Reason = reason }, cancellationToken).ConfigureAwait(false));

    public ValueTask DisposeAsync() => _open.DisposeAsync();
}

/// <summary>Policies and rotation records on a server.</summary>
internal sealed class RemoteLifecycleBackend(RekeyClient client) : ILifecycleBackend
{
    public Task<PolicyResource> SetPolicyAsync(PolicySetRequest request, CancellationToken cancellationToken) => client.SetPolicyAsync(request, cancellationToken);

    public Task<IReadOnlyList<PolicyResource>> ListPoliciesAsync(CancellationToken cancellationToken) => client.ListPoliciesAsync(cancellationToken);

    public Task UnsetPolicyAsync(string pattern, string? reason, CancellationToken cancellationToken) => client.UnsetPolicyAsync(pattern, reason, cancellationToken);

    public Task<EffectivePolicyResource> EffectiveAsync(KeyName key, CancellationToken cancellationToken) => client.GetEffectivePolicyAsync(key, cancellationToken);

    public Task<IReadOnlyList<RotationResource>> ListRotationsAsync(KeyName? key, int limit, CancellationToken cancellationToken) => client.ListRotationsAsync(key, limit, cancellationToken);

    public Task<RotationResource> GetRotationAsync(string id, CancellationToken cancellationToken) => client.GetRotationAsync(id, cancellationToken);

    public Task<RotationResource> RetryRotationAsync(string id, string? reason, CancellationToken cancellationToken) => client.RetryRotationAsync(id, reason, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Opens the server's backend when REKEY_ADDR is set, else the local store's.</summary>
    public static async Task<ILifecycleBackend> OpenAsync(GlobalOptions globals, System.CommandLine.ParseResult parse, CancellationToken cancellationToken)
    {
        if (GlobalOptions.ServerAddress() is { } address)
        {
            return new RemoteLifecycleBackend(GlobalOptions.OpenClient(address));
        }

        var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, cancellationToken).ConfigureAwait(false);
        return new LocalLifecycleBackend(open);
    }
}
