using Rekey.Errors;

namespace Rekey.Api;

/// <summary>
/// The one mapping from error code to HTTP status. Every problem document the server writes goes
/// through it, and the client maps statuses back through the codes, never the other way round.
/// </summary>
public static class ErrorStatus
{
    /// <summary>The HTTP status for a code.</summary>
    public static int For(RekeyErrorCode code) => code switch
    {
        RekeyErrorCode.InvalidRequest => 400,
        RekeyErrorCode.DecryptionFailed => 400,
        RekeyErrorCode.Unauthenticated => 401,
        RekeyErrorCode.Forbidden => 403,
        RekeyErrorCode.KeyNotFound => 404,
        RekeyErrorCode.VersionNotFound => 404,
        RekeyErrorCode.TokenNotFound => 404,
        RekeyErrorCode.JobNotFound => 404,
        RekeyErrorCode.SourceNotFound => 404,
        RekeyErrorCode.PolicyNotFound => 404,
        RekeyErrorCode.RotationNotFound => 404,
        RekeyErrorCode.ImportRefused => 400,
        RekeyErrorCode.ApprovalPending => 202,
        RekeyErrorCode.ApprovalRefused => 409,
        RekeyErrorCode.ApprovalNotFound => 404,
        RekeyErrorCode.StoreNotFound => 404,
        RekeyErrorCode.RouteNotFound => 404,
        RekeyErrorCode.KeyExists => 409,
        RekeyErrorCode.Conflict => 409,
        RekeyErrorCode.KeyInactive => 409,
        RekeyErrorCode.KeyDisabled => 409,
        RekeyErrorCode.KeyDestroyed => 409,
        RekeyErrorCode.VersionTooOld => 409,
        RekeyErrorCode.TransitionNotAllowed => 409,
        RekeyErrorCode.DestructionNotDue => 409,
        RekeyErrorCode.PolicyViolation => 409,
        RekeyErrorCode.LimitExceeded => 409,
        RekeyErrorCode.PayloadTooLarge => 413,
        RekeyErrorCode.AuditChainBroken => 500,
        RekeyErrorCode.RootKeyUnavailable => 503,
        RekeyErrorCode.RootKeyRefused => 500,
        RekeyErrorCode.StoreUnavailable => 503,
        _ => 500,
    };
}
