namespace Rekey.Keys;

/// <summary>
/// What a holder of key material needs to wrap it for import into one key: a one-time RSA public
/// key and the token naming it. The material is wrapped with RSA-OAEP, SHA-256 as both the hash
/// and the MGF1 hash, and no label (as <c>openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep
/// -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256</c> does).
/// </summary>
/// <param name="Key">The key the material will become a new version of.</param>
/// <param name="Token">The import token: given back with the wrapped material; good for one import.</param>
/// <param name="PublicKeyPem">The RSA-4096 public key, PEM (SubjectPublicKeyInfo).</param>
/// <param name="Algorithm">The wrapping algorithm: <c>RSA-OAEP-SHA256</c>.</param>
/// <param name="ExpiresAt">After this, the token and its private key are no longer usable.</param>
public sealed record ImportParameters(KeyName Key, string Token, string PublicKeyPem, string Algorithm, DateTimeOffset ExpiresAt)
{
    /// <summary>The one wrapping algorithm accepted.</summary>
    public const string RsaOaepSha256 = "RSA-OAEP-SHA256";
}
