namespace Rekey.Keys;

/// <summary>A key's configuration and the summary of its versions.</summary>
/// <param name="Name">The key's name.</param>
/// <param name="CreatedAt">When the key was created.</param>
/// <param name="MinDecryptionVersion">Versions below this number refuse to decrypt (<c>VersionTooOld</c>).</param>
/// <param name="DestructionDelay">How long a version waits in DestroyScheduled before it may be destroyed.</param>
/// <param name="ActiveVersion">The version that encrypts.</param>
/// <param name="LatestVersion">The highest version number.</param>
/// <param name="DeletionAllowed">Whether the key may be deleted, with all its versions.</param>
public sealed record KeyInfo(
    KeyName Name,
    DateTimeOffset CreatedAt,
    int MinDecryptionVersion,
    TimeSpan DestructionDelay,
    int ActiveVersion,
    int LatestVersion,
    bool DeletionAllowed = false);
