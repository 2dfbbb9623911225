using Rekey.Errors;

namespace Rekey.Cli;

/// <summary>
/// The CLI's exit codes, documented in docs/cli.md. Scripts rely on them: a number never changes
/// meaning once shipped.
/// </summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected internal error (a bug: please report it).</summary>
    public const int Internal = 1;

    /// <summary>The command line was wrong: unknown command, missing or invalid option or value.</summary>
    public const int Usage = 2;

    /// <summary>The key or version does not exist, or the store is not initialized.</summary>
    public const int NotFound = 3;

    /// <summary>Refused by a key's state, the lifecycle rules or a policy.</summary>
    public const int Refused = 4;

    /// <summary>A conflicting change: the key exists already, or something changed concurrently.</summary>
    public const int Conflict = 5;

    /// <summary>The ciphertext could not be decrypted.</summary>
    public const int DecryptionFailed = 6;

    /// <summary>The store, a file or the root key could not be used.</summary>
    public const int StoreFailure = 7;

    /// <summary>The audit log failed verification.</summary>
    public const int AuditInvalid = 8;

    /// <summary>The server refused the token: missing, unknown, expired or revoked, or not allowed this call.</summary>
    public const int AuthFailed = 9;

    /// <summary>The operation is under dual control: it was not run, and an approval now waits for approvers (its id is in the message).</summary>
    public const int ApprovalPending = 10;

    /// <summary>The exit code of a domain refusal: the one place codes map to exit codes.</summary>
    public static int For(RekeyErrorCode code) => code switch
    {
        RekeyErrorCode.ApprovalPending => ApprovalPending,
        RekeyErrorCode.ApprovalNotFound => NotFound,
        RekeyErrorCode.ApprovalRefused => Refused,
        RekeyErrorCode.KeyNotFound or RekeyErrorCode.VersionNotFound or RekeyErrorCode.TokenNotFound or RekeyErrorCode.JobNotFound or RekeyErrorCode.SourceNotFound or RekeyErrorCode.StoreNotFound or RekeyErrorCode.PolicyNotFound or RekeyErrorCode.RotationNotFound => NotFound,
        RekeyErrorCode.KeyExists or RekeyErrorCode.Conflict => Conflict,
        RekeyErrorCode.DecryptionFailed => DecryptionFailed,
        RekeyErrorCode.RootKeyUnavailable or RekeyErrorCode.RootKeyRefused or RekeyErrorCode.StoreUnavailable => StoreFailure,
        RekeyErrorCode.Unauthenticated or RekeyErrorCode.Forbidden => AuthFailed,
        RekeyErrorCode.InvalidRequest or RekeyErrorCode.PayloadTooLarge => Usage,
        RekeyErrorCode.AuditChainBroken => AuditInvalid,
        RekeyErrorCode.KeyInactive or RekeyErrorCode.KeyDisabled or RekeyErrorCode.KeyDestroyed or RekeyErrorCode.VersionTooOld
            or RekeyErrorCode.TransitionNotAllowed or RekeyErrorCode.DestructionNotDue or RekeyErrorCode.PolicyViolation or RekeyErrorCode.LimitExceeded or RekeyErrorCode.ImportRefused => Refused,
        _ => Internal,
    };
}
