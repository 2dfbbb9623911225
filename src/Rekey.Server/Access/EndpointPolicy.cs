using System.Collections.Frozen;
using Rekey.Access;

namespace Rekey.Server.Access;

/// <summary>What one endpoint needs: one of <see cref="Roles"/> and the scope check.</summary>
/// <param name="Name">The endpoint's name, as given to routing.</param>
/// <param name="Roles">Any one of these roles suffices (empty for public endpoints).</param>
/// <param name="Scope">How the token's key patterns are checked.</param>
internal sealed record EndpointRule(string Name, IReadOnlySet<Role> Roles, EndpointScope Scope);

/// <summary>
/// The policy table: every endpoint the server maps, by name, and what it needs. An endpoint
/// missing here is refused (fail closed), and a test enumerates the route table against it.
/// </summary>
internal static class EndpointPolicy
{
    private static readonly Role[] Readers = [Role.Admin, Role.KeyOfficer, Role.Operator, Role.Auditor];
    private static readonly Role[] Officers = [Role.Admin, Role.KeyOfficer];
    private static readonly Role[] Rotators = [Role.Admin, Role.KeyOfficer, Role.Operator];
    private static readonly Role[] DataPlane = [Role.Admin, Role.Application];
    private static readonly Role[] Rewrappers = [Role.Admin, Role.Application, Role.Operator];
    private static readonly Role[] Auditors = [Role.Admin, Role.Auditor];
    private static readonly Role[] Anyone = [Role.Admin, Role.KeyOfficer, Role.Operator, Role.Application, Role.Auditor, Role.Approver];

    /// <summary>Every rule, by endpoint name.</summary>
    public static FrozenDictionary<string, EndpointRule> Rules { get; } = new EndpointRule[]
    {
        Rule(EndpointNames.Health, [], EndpointScope.Public),
        Rule(EndpointNames.Ready, [], EndpointScope.Public),
        Rule(EndpointNames.OpenApi, [], EndpointScope.Public),
        Rule(EndpointNames.Version, [], EndpointScope.Public),

        // Prometheus scrapes with a bearer token (an operator or auditor token); the numbers name no secret, but key names and counts are the store's business.
        Rule(EndpointNames.Metrics, [Role.Admin, Role.Operator, Role.Auditor], EndpointScope.Global),
        Rule(EndpointNames.Report, [Role.Admin, Role.Auditor], EndpointScope.Filtered),

        Rule(EndpointNames.KeyCreate, Officers, EndpointScope.Key),
        Rule(EndpointNames.KeyList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.KeyRead, Readers, EndpointScope.Key),
        Rule(EndpointNames.KeyUpdate, Officers, EndpointScope.Key),
        Rule(EndpointNames.KeyDelete, Officers, EndpointScope.Key),

        Rule(EndpointNames.Rotate, Rotators, EndpointScope.Key),
        Rule(EndpointNames.Activate, Rotators, EndpointScope.Key),
        Rule(EndpointNames.ImportToken, Officers, EndpointScope.Key),
        Rule(EndpointNames.Import, Officers, EndpointScope.Key),
        Rule(EndpointNames.Disable, Officers, EndpointScope.Key),
        Rule(EndpointNames.Enable, Officers, EndpointScope.Key),
        Rule(EndpointNames.Retire, Officers, EndpointScope.Key),
        Rule(EndpointNames.ScheduleDestroy, Officers, EndpointScope.Key),
        Rule(EndpointNames.CancelDestroy, Officers, EndpointScope.Key),
        Rule(EndpointNames.Destroy, Officers, EndpointScope.Key),

        Rule(EndpointNames.Encrypt, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.Decrypt, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.Rewrap, Rewrappers, EndpointScope.Key),
        Rule(EndpointNames.DataKey, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.FileUnwrap, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.FileRewrap, Rewrappers, EndpointScope.Key),

        Rule(EndpointNames.AuditEvents, Auditors, EndpointScope.Filtered),
        Rule(EndpointNames.AuditVerify, Auditors, EndpointScope.Global),
        Rule(EndpointNames.AuditCheckpoints, Auditors, EndpointScope.Global),
        Rule(EndpointNames.AuditCheckpointCreate, Auditors, EndpointScope.Global),
        Rule(EndpointNames.AuditPublicKeys, Auditors, EndpointScope.Global),
        Rule(EndpointNames.AuditSigningKeyRotate, [Role.Admin], EndpointScope.Global),

        Rule(EndpointNames.TokenCreate, [Role.Admin], EndpointScope.Global),
        Rule(EndpointNames.TokenList, [Role.Admin], EndpointScope.Global),
        Rule(EndpointNames.TokenRevoke, [Role.Admin], EndpointScope.Global),
        Rule(EndpointNames.TokenSelf, Anyone, EndpointScope.Filtered),

        Rule(EndpointNames.JobStart, Rotators, EndpointScope.Key),
        Rule(EndpointNames.JobList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.JobRead, Readers, EndpointScope.Job),
        Rule(EndpointNames.JobPause, Rotators, EndpointScope.Job),
        Rule(EndpointNames.JobResume, Rotators, EndpointScope.Job),
        Rule(EndpointNames.JobCancel, Rotators, EndpointScope.Job),
        Rule(EndpointNames.JobFailures, Readers, EndpointScope.Job),
        Rule(EndpointNames.Inventory, Readers, EndpointScope.Key),

        Rule(EndpointNames.SourceRegister, Officers, EndpointScope.Global),
        Rule(EndpointNames.SourceList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.SourceRead, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.SourceRemove, Officers, EndpointScope.Global),

        // Changing a policy is a key officer's act; the handler checks the token covers the pattern.
        Rule(EndpointNames.PolicyList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.PolicySet, Officers, EndpointScope.Filtered),
        Rule(EndpointNames.PolicyUnset, Officers, EndpointScope.Filtered),
        Rule(EndpointNames.PolicyEffective, Readers, EndpointScope.Key),
        Rule(EndpointNames.RotationList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.RotationRead, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.RotationRetry, Rotators, EndpointScope.Filtered),

        // Dual control: only approvers decide; requesters and auditors follow along. The handlers
        // check the token covers the approval's key (store-wide operations need '*').
        Rule(EndpointNames.ApprovalList, [Role.Admin, Role.KeyOfficer, Role.Operator, Role.Auditor, Role.Approver], EndpointScope.Filtered),
        Rule(EndpointNames.ApprovalRead, [Role.Admin, Role.KeyOfficer, Role.Operator, Role.Auditor, Role.Approver], EndpointScope.Filtered),
        Rule(EndpointNames.ApprovalApprove, [Role.Approver], EndpointScope.Filtered),
        Rule(EndpointNames.ApprovalDeny, [Role.Approver], EndpointScope.Filtered),

        // The Transit surface: the same roles as the /v1 endpoints that do the same thing.
        Rule(EndpointNames.TransitKeyCreate, Officers, EndpointScope.Key),
        Rule(EndpointNames.TransitKeyRead, Readers, EndpointScope.Key),
        Rule(EndpointNames.TransitKeyList, Readers, EndpointScope.Filtered),
        Rule(EndpointNames.TransitKeyDelete, Officers, EndpointScope.Key),
        Rule(EndpointNames.TransitKeyConfig, Officers, EndpointScope.Key),
        Rule(EndpointNames.TransitKeyRotate, Rotators, EndpointScope.Key),
        Rule(EndpointNames.TransitKeyTrim, Officers, EndpointScope.Key),
        Rule(EndpointNames.TransitEncrypt, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.TransitDecrypt, DataPlane, EndpointScope.Key),
        Rule(EndpointNames.TransitRewrap, Rewrappers, EndpointScope.Key),
        Rule(EndpointNames.TransitDataKey, DataPlane, EndpointScope.Key),

        // What Vault clients call at start: any token (they change nothing and name no key);
        // health is public, as in Vault.
        Rule(EndpointNames.VaultHealth, [], EndpointScope.Public),
        Rule(EndpointNames.VaultMountList, Anyone, EndpointScope.Filtered),
        Rule(EndpointNames.VaultMountEnable, Anyone, EndpointScope.Filtered),
    }.ToFrozenDictionary(r => r.Name, StringComparer.Ordinal);

    private static EndpointRule Rule(string name, Role[] roles, EndpointScope scope) => new(name, roles.ToHashSet(), scope);
}
