namespace Rekey.Approvals;

/// <summary>
/// The field names of held key and policy operations (<see cref="ApprovalRequest.Fields"/>): the
/// operation writes them when it is held, and the approval board reads them to carry it out.
/// </summary>
public static class ApprovalFields
{
    /// <summary>Destroy: <c>true</c> when forced past the inventory.</summary>
    public const string Force = "force";

    /// <summary>Rotate: <c>false</c> for a Pending new version.</summary>
    public const string Activate = "activate";

    /// <summary>Rotate: the Active version the rotation expects.</summary>
    public const string ExpectedVersion = "expected_version";

    /// <summary>Key config: the lowest version allowed to decrypt.</summary>
    public const string MinDecryptionVersion = "min_decryption_version";

    /// <summary>Key config: the destruction delay, in milliseconds (as the store keeps it).</summary>
    public const string DestructionDelayMilliseconds = "destruction_delay_ms";

    /// <summary>Key config: whether the key may be deleted.</summary>
    public const string DeletionAllowed = "deletion_allowed";

    /// <summary>Policy: the policy's JSON document, as stored.</summary>
    public const string Document = "document";

    /// <summary>Policy: <c>true</c> to remove the policy.</summary>
    public const string Unset = "unset";

    /// <summary>A boolean field's text.</summary>
    public static string Bool(bool value) => value ? "true" : "false";
}
