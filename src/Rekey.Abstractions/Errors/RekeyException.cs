namespace Rekey.Errors;

/// <summary>
/// A domain refusal: the request was understood but the key's state, the lifecycle rules or a
/// policy forbid it. Caller mistakes (null arguments, malformed names) are standard .NET
/// argument exceptions instead; backend faults are <see cref="RekeyStoreException"/>.
/// </summary>
/// <remarks>
/// Messages never contain key material, plaintext or ciphertext bytes. Decryption failures all
/// share one code and one message so that they do not tell an attacker which check failed.
/// </remarks>
public sealed class RekeyException : Exception
{
    /// <summary>Creates a refusal with a stable code and a human-readable message.</summary>
    public RekeyException(RekeyErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Creates a refusal that wraps the fault that caused it.</summary>
    public RekeyException(RekeyErrorCode code, string message, Exception innerException)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The stable code of this refusal.</summary>
    public RekeyErrorCode Code { get; }

    /// <summary>For <see cref="RekeyErrorCode.ApprovalPending"/>: the approval that now waits for approvers.</summary>
    public string? ApprovalId { get; init; }

    /// <summary>The one error every failed decryption produces, whatever the reason.</summary>
    public static RekeyException DecryptionFailed() =>
        new(RekeyErrorCode.DecryptionFailed, "The ciphertext could not be decrypted.");
}
