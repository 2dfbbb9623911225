using System.Buffers.Binary;
using System.Security.Cryptography;
using Rekey.Crypto;
using Rekey.Errors;

namespace Rekey.Envelope;

/// <summary>
/// Encrypts, decrypts and re-wraps v1 envelopes under an already unwrapped key-version KEK.
/// Knows nothing of key state; <see cref="RekeyService"/> checks that before calling.
/// </summary>
internal static class EnvelopeCipher
{
    /// <summary>Encrypts with a fresh random data key and nonce.</summary>
    public static byte[] Encrypt(AesKeyWrapPadded kek, ReadOnlySpan<byte> keyName, int version, ReadOnlySpan<byte> plaintext, EncryptionContext context)
    {
        // One call to the generator for both: each call has a fixed cost comparable to the bytes.
        Span<byte> random = stackalloc byte[EnvelopeLayout.DataKeySize + DataCipher.NonceSize];
        RandomPool.Fill(random);
        try
        {
            return EncryptWith(kek, keyName, version, plaintext, context, random[..EnvelopeLayout.DataKeySize], random[EnvelopeLayout.DataKeySize..]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(random);
        }
    }

    /// <summary>
    /// Encrypts with a given data key and nonce. Only <see cref="Encrypt"/> and the golden-vector
    /// tests call this: a repeated (key, nonce) pair would break GCM.
    /// </summary>
    public static byte[] EncryptWith(
        AesKeyWrapPadded kek,
        ReadOnlySpan<byte> keyName,
        int version,
        ReadOnlySpan<byte> plaintext,
        EncryptionContext context,
        ReadOnlySpan<byte> dataKey,
        ReadOnlySpan<byte> nonce)
    {
        if (plaintext.Length > EnvelopeLayout.MaxPlaintextLength)
        {
            throw new ArgumentException($"A single envelope holds at most {EnvelopeLayout.MaxPlaintextLength} bytes; use the streaming format for more.", nameof(plaintext));
        }

        var envelope = new byte[EnvelopeLayout.TotalLength(keyName.Length, plaintext.Length)];
        EnvelopeLayout.WriteHeader(envelope, keyName, version);
        var layout = new EnvelopeLayout(envelope, keyName.Length);
        var span = envelope.AsSpan();
        kek.Wrap(dataKey, span.Slice(layout.WrappedKeyOffset, EnvelopeLayout.WrappedKeySize));
        nonce.CopyTo(span[(layout.WrappedKeyOffset + EnvelopeLayout.WrappedKeySize)..]);

        Span<byte> aad = stackalloc byte[AssociatedDataLength(layout, context)];
        WriteAssociatedData(aad, layout, context);
        DataCipher.Encrypt(
            dataKey,
            nonce,
            plaintext,
            aad,
            span.Slice(layout.CiphertextOffset, plaintext.Length),
            span[^DataCipher.TagSize..]);
        return envelope;
    }

    /// <summary>Decrypts a parsed envelope; every failure is the one <see cref="RekeyErrorCode.DecryptionFailed"/>.</summary>
    public static byte[] Decrypt(AesKeyWrapPadded kek, EnvelopeLayout layout, EncryptionContext context)
    {
        Span<byte> dataKey = stackalloc byte[EnvelopeLayout.DataKeySize];
        try
        {
            if (!kek.TryUnwrap(layout.WrappedKey, dataKey, out var written) || written != EnvelopeLayout.DataKeySize)
            {
                throw RekeyException.DecryptionFailed();
            }

            Span<byte> aad = stackalloc byte[AssociatedDataLength(layout, context)];
            WriteAssociatedData(aad, layout, context);
            var plaintext = new byte[layout.Ciphertext.Length];
            if (!DataCipher.TryDecrypt(dataKey, layout.Nonce, layout.Ciphertext, layout.Tag, aad, plaintext))
            {
                throw RekeyException.DecryptionFailed();
            }

            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>
    /// Checks that the envelope's data key unwraps under <paramref name="kek"/>, without touching
    /// the data: an envelope already under the target version is returned as it is only when its
    /// version field is true.
    /// </summary>
    public static void EnsureWrappedKeyUnwraps(AesKeyWrapPadded kek, EnvelopeLayout layout)
    {
        Span<byte> dataKey = stackalloc byte[EnvelopeLayout.DataKeySize];
        try
        {
            if (!kek.TryUnwrap(layout.WrappedKey, dataKey, out var written) || written != EnvelopeLayout.DataKeySize)
            {
                throw RekeyException.DecryptionFailed();
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>
    /// Moves the data key from one KEK to another: only the version and the wrapped key change;
    /// every data byte is copied unchanged. The data is not decrypted (no context is needed).
    /// </summary>
    public static byte[] Rewrap(AesKeyWrapPadded from, AesKeyWrapPadded to, EnvelopeLayout layout, int toVersion)
    {
        Span<byte> dataKey = stackalloc byte[EnvelopeLayout.DataKeySize];
        try
        {
            if (!from.TryUnwrap(layout.WrappedKey, dataKey, out var written) || written != EnvelopeLayout.DataKeySize)
            {
                throw RekeyException.DecryptionFailed();
            }

            var result = layout.Envelope.ToArray();
            EnvelopeLayout.WriteVersion(result, layout.NameLength, toVersion);
            to.Wrap(dataKey, result.AsSpan(layout.WrappedKeyOffset, EnvelopeLayout.WrappedKeySize));
            return result;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    // The data's associated data binds format, algorithm, key name and the caller's context, and
    // deliberately not the key version or wrapped key, so a re-wrap leaves the data untouched.
    // Sized exactly (at most 5 + 128 + 4 + the context's limit), since a stack buffer of the
    // largest size would be cleared on every call.
    private static int AssociatedDataLength(EnvelopeLayout layout, EncryptionContext context) => 5 + layout.NameLength + 4 + context.Utf8.Length;

    private static void WriteAssociatedData(Span<byte> buffer, EnvelopeLayout layout, EncryptionContext context)
    {
        var prefix = layout.Envelope[..(5 + layout.NameLength)];
        prefix.CopyTo(buffer);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[prefix.Length..], (uint)context.Utf8.Length);
        context.Utf8.CopyTo(buffer[(prefix.Length + 4)..]);
    }
}
