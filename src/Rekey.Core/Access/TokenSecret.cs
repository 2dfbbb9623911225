using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Rekey.Access;

/// <summary>
/// Bearer token secrets: <c>rkt_&lt;16 hex id&gt;_&lt;256 random bits, base64url&gt;</c>. The id
/// finds the stored token; only a hash of the secret is stored, and the presented secret's hash
/// is compared in constant time. 256 random bits need no slow hash: they cannot be guessed.
/// </summary>
public static class TokenSecret
{
    private const string Prefix = "rkt_";
    private const int IdLength = 16;
    private const int SecretBytes = 32;
    private static readonly byte[] Domain = "rekey-token-v1"u8.ToArray();

    /// <summary>A new token id and secret. The caller shows <paramref name="secret"/> once and stores only <paramref name="hash"/>.</summary>
    public static void Issue(out string id, out string secret, out byte[] hash)
    {
        id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var random = RandomNumberGenerator.GetBytes(SecretBytes);
        try
        {
            secret = $"{Prefix}{id}_{Base64Url.EncodeToString(random)}";
            hash = Hash(random);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(random);
        }
    }

    /// <summary>Splits a presented token into its id and the hash of its secret; false when it is not a Rekey token.</summary>
    public static bool TryRead(string? presented, [NotNullWhen(true)] out string? id, [NotNullWhen(true)] out byte[]? hash)
    {
        id = null;
        hash = null;
        if (presented is null
            || presented.Length != Prefix.Length + IdLength + 1 + Base64Url.GetEncodedLength(SecretBytes)
            || !presented.StartsWith(Prefix, StringComparison.Ordinal)
            || presented[Prefix.Length + IdLength] != '_'
            || presented.AsSpan(Prefix.Length, IdLength).ContainsAnyExcept("0123456789abcdef"))
        {
            return false;
        }

        Span<byte> random = stackalloc byte[SecretBytes];
        try
        {
            if (Base64Url.DecodeFromChars(presented.AsSpan(Prefix.Length + IdLength + 1), random, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != SecretBytes)
            {
                return false;
            }

            id = presented.Substring(Prefix.Length, IdLength);
            hash = Hash(random);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(random);
        }
    }

    /// <summary>True when a presented secret's hash equals the stored one (constant time).</summary>
    public static bool Matches(byte[] presentedHash, AccessToken token)
    {
        ArgumentNullException.ThrowIfNull(presentedHash);
        ArgumentNullException.ThrowIfNull(token);
        return CryptographicOperations.FixedTimeEquals(presentedHash, token.SecretHash);
    }

    /// <summary>The stored form of a secret: SHA-256 over a domain label and the secret's bytes.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> secret)
    {
        if (secret.Length != SecretBytes)
        {
            throw new ArgumentException($"A token secret is {SecretBytes} bytes.", nameof(secret));
        }

        Span<byte> input = stackalloc byte[Domain.Length + SecretBytes];
        try
        {
            Domain.CopyTo(input);
            secret.CopyTo(input[Domain.Length..]);
            return SHA256.HashData(input);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }
    }
}
