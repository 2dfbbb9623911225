namespace Rekey.Keys;

/// <summary>
/// The lifecycle state of one key version. The stored form is the member name, so names never
/// change. See <see cref="KeyLifecycle"/> for what each state allows and which changes are legal.
/// </summary>
public enum KeyVersionState
{
    /// <summary>Created, not yet encrypting; may decrypt. Waits to be activated.</summary>
    Pending = 1,

    /// <summary>The one version that encrypts. Exactly one per key.</summary>
    Active = 2,

    /// <summary>A former Active version: decrypts, never encrypts.</summary>
    DecryptOnly = 3,

    /// <summary>Decrypts during a grace period with a deadline; every use is counted.</summary>
    Retiring = 4,

    /// <summary>Suspended: neither encrypts nor decrypts. Reversible.</summary>
    Disabled = 5,

    /// <summary>Waiting out the destruction delay; unusable; can be cancelled back to Disabled.</summary>
    DestroyScheduled = 6,

    /// <summary>Material erased for good; metadata kept for audit.</summary>
    Destroyed = 7,
}
