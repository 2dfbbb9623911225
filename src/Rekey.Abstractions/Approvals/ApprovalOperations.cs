using System.Collections.Frozen;

namespace Rekey.Approvals;

/// <summary>
/// The operations a policy (or the server's own rule) can put under dual control, by the names
/// policies, audit events and the API use.
/// </summary>
public static class ApprovalOperations
{
    /// <summary>Destroying a version (erasing its material).</summary>
    public const string Destroy = "destroy";

    /// <summary>Suspending a version.</summary>
    public const string Disable = "disable";

    /// <summary>Scheduling a version's destruction.</summary>
    public const string ScheduleDestroy = "schedule-destroy";

    /// <summary>Deleting a key with every version.</summary>
    public const string DeleteKey = "delete-key";

    /// <summary>Changing a key's configuration: destruction delay, whether it may be deleted, the lowest decryptable version.</summary>
    public const string KeyConfig = "key-config";

    /// <summary>Setting or removing a lifecycle policy (the approval rules included).</summary>
    public const string Policy = "policy";

    /// <summary>Issuing a token with the admin or approver role.</summary>
    public const string AdminToken = "admin-token";

    /// <summary>Rotating the root key or migrating the store to another root.</summary>
    public const string Root = "root";

    /// <summary>Rotating a key by hand (two-signer rotation); rotations a policy triggers are not held.</summary>
    public const string Rotate = "rotate";

    /// <summary>Every name above.</summary>
    public static FrozenSet<string> All { get; } = FrozenSet.Create(StringComparer.Ordinal, Destroy, Disable, ScheduleDestroy, DeleteKey, KeyConfig, Policy, AdminToken, Root, Rotate);

    /// <summary>The operations that concern no single key: their rule is the one on <c>*</c> (and the server's).</summary>
    public static FrozenSet<string> StoreWide { get; } = FrozenSet.Create(StringComparer.Ordinal, AdminToken, Root);
}
