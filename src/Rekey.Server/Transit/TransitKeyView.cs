using System.Globalization;
using System.Text.Json;
using Rekey.Keys;

namespace Rekey.Server.Transit;

/// <summary>
/// A Rekey key as Vault's Transit describes one. Rekey's keys are all <c>aes256-gcm96</c> in
/// Vault's terms, never derived, exportable or backed up in plaintext; Rekey encrypts only under
/// the Active version, so the minimum encryption version is that version. Versions scheduled for
/// destruction or destroyed are the ones Vault would have trimmed.
/// </summary>
internal sealed record TransitKeyView(KeyInfo Key, IReadOnlyList<KeyVersionInfo> Versions, TimeSpan? RotatePeriod)
{
    /// <summary>Vault's name for the one key type Rekey has.</summary>
    public const string KeyType = "aes256-gcm96";

    /// <summary>Whether a version counts as trimmed in Vault's terms.</summary>
    public static bool IsTrimmed(KeyVersionState state) => state is KeyVersionState.DestroyScheduled or KeyVersionState.Destroyed;

    /// <summary>The lowest version still held, when a lower one was trimmed; 0 (Vault's "never trimmed") otherwise.</summary>
    public int MinAvailableVersion =>
        Versions.Any(v => IsTrimmed(v.State)) ? Versions.Where(v => !IsTrimmed(v.State) && v.State != KeyVersionState.Pending).Select(v => v.Version).DefaultIfEmpty(0).Min() : 0;

    /// <summary>Writes the members of Vault's key description.</summary>
    public void Write(Utf8JsonWriter json)
    {
        json.WriteString("name"u8, Key.Name.Value);
        json.WriteString("type"u8, KeyType);
        json.WriteBoolean("derived"u8, false);
        json.WriteBoolean("deletion_allowed"u8, Key.DeletionAllowed);
        json.WriteNumber("min_available_version"u8, MinAvailableVersion);
        json.WriteNumber("min_decryption_version"u8, Key.MinDecryptionVersion);
        json.WriteNumber("min_encryption_version"u8, Key.ActiveVersion);
        json.WriteNumber("latest_version"u8, Key.ActiveVersion);
        json.WriteBoolean("exportable"u8, false);
        json.WriteBoolean("allow_plaintext_backup"u8, false);
        json.WriteBoolean("supports_encryption"u8, true);
        json.WriteBoolean("supports_decryption"u8, true);
        json.WriteBoolean("supports_signing"u8, false);
        json.WriteBoolean("supports_derivation"u8, false);
        json.WriteNumber("auto_rotate_period"u8, (long)(RotatePeriod?.TotalSeconds ?? 0));
        json.WriteBoolean("imported_key"u8, Versions.Any(v => v.Origin == KeyVersionOrigin.Imported));
        json.WriteStartObject("keys"u8);
        foreach (var version in Versions.Where(v => !IsTrimmed(v.State) && v.State != KeyVersionState.Pending).OrderBy(v => v.Version))
        {
            json.WriteNumber(version.Version.ToString(CultureInfo.InvariantCulture), version.CreatedAt.ToUnixTimeSeconds());
        }

        json.WriteEndObject();
    }
}
