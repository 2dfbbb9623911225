using System.Text;
using Rekey.Envelope;
using Rekey.Errors;

namespace Rekey.Server.Transit;

/// <summary>
/// How a Transit request's <c>associated_data</c> becomes the Rekey encryption context a
/// ciphertext is bound to. Vault binds <c>associated_data</c> into AES-GCM as it is; Rekey binds
/// its context the same way, so the decoded bytes, read as UTF-8 text, are the context, and a
/// record encrypted through <c>/v1</c> with context <c>tenant=h42</c> decrypts through Transit
/// with <c>associated_data</c> = base64("tenant=h42"). A request without associated data is bound
/// to the fixed context <see cref="Default"/>. Vault's <c>context</c> field only matters for
/// derived keys, which Rekey does not have; like Vault for a key that is not derived, Rekey
/// does not use it.
/// </summary>
internal static class TransitContext
{
    /// <summary>The context text a Transit request without <c>associated_data</c> is bound to.</summary>
    public const string DefaultText = "vault:transit";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The context for requests without associated data.</summary>
    public static EncryptionContext Default { get; } = EncryptionContext.From(DefaultText);

    /// <summary>The context for a request's <c>associated_data</c> (base64), or <see cref="Default"/> when it has none.</summary>
    public static EncryptionContext For(string? associatedData)
    {
        if (string.IsNullOrEmpty(associatedData))
        {
            return Default;
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(associatedData);
        }
        catch (FormatException)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'associated_data' is not valid base64");
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'associated_data' must decode to UTF-8 text in Rekey (it becomes the record's encryption context)");
        }

        try
        {
            return text.Length == 0 ? Default : EncryptionContext.From(text);
        }
        catch (ArgumentException e)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'associated_data' is not a valid context: " + e.Message);
        }
    }
}
