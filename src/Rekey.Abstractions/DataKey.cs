using System.Security.Cryptography;

namespace Rekey;

/// <summary>
/// A fresh data key: its plaintext for the caller to use, and the envelope that protects it (store
/// the envelope; decrypt it with the same context to recover the bytes later). Dispose it as soon
/// as the plaintext has been used: that zeroes the bytes, and reading them afterwards throws.
/// </summary>
public sealed class DataKey : IDisposable
{
    private readonly byte[]? _plaintext;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="plaintext"/> (zeroed on dispose) beside its <paramref name="envelope"/>.</summary>
    /// <param name="plaintext">The key's bytes; null when only the wrapped form was asked for.</param>
    /// <param name="envelope">The key encrypted under the key's Active version.</param>
    public DataKey(byte[]? plaintext, byte[] envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        _plaintext = plaintext;
        Envelope = envelope;
    }

    /// <summary>The key encrypted under the key's Active version; safe to store and log.</summary>
    public byte[] Envelope { get; }

    /// <summary>Whether the plaintext was asked for (and is still held).</summary>
    public bool HasPlaintext => _plaintext is not null && !_disposed;

    /// <summary>
    /// The key's bytes: secret. Use them (an <c>AesGcm</c> key, say) without copying them
    /// elsewhere, then dispose this object.
    /// </summary>
    /// <exception cref="InvalidOperationException">Only the wrapped form was asked for.</exception>
    /// <exception cref="ObjectDisposedException">The key was disposed and its bytes zeroed.</exception>
    public ReadOnlySpan<byte> DangerousPlaintext
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _plaintext ?? throw new InvalidOperationException("This data key was made without its plaintext (wrapped only).");
        }
    }

    /// <summary>Zeroes the plaintext.</summary>
    public void Dispose()
    {
        _disposed = true;
        if (_plaintext is not null)
        {
            CryptographicOperations.ZeroMemory(_plaintext);
        }
    }
}
