using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace Rekey.Crypto;

/// <summary>
/// AES-256 key wrap with padding (RFC 5649, NIST SP 800-38F "KWP") under one key-encryption key.
/// Deterministic and nonce-free, which is why it wraps data keys: no counter to keep per key.
/// </summary>
/// <remarks>
/// On processors with AES-NI the algorithm runs over <see cref="Aes256NiBlockCipher"/>, about ten
/// times faster than the framework's <c>Aes.EncryptKeyWrapPadded</c>, which sets up a cipher
/// context for each of its block operations. Elsewhere (ARM64 servers, for one) it delegates to
/// the framework, and so it does everywhere when the AppContext switch
/// <c>Rekey.Crypto.UseFrameworkKeyWrap</c> is set (<c>runtimeconfig.json</c> or
/// <c>AppContext.SetSwitch</c>). Tests hold both paths to the Wycheproof vectors and to each other.
/// Instances are thread-safe; after <see cref="Dispose"/> the key schedule is zeroed and every call throws.
/// </remarks>
internal sealed class AesKeyWrapPadded : IDisposable
{
    /// <summary>The only key-encryption-key size accepted: 256 bits.</summary>
    public const int KeySize = 32;

    /// <summary>The largest plaintext accepted; this is for wrapping keys, not data.</summary>
    public const int MaxPlaintextLength = 4096;

    /// <summary>The AppContext switch that makes every new instance use the framework's implementation.</summary>
    public const string UseFrameworkSwitch = "Rekey.Crypto.UseFrameworkKeyWrap";

    private const uint AlternativeIvPrefix = 0xA65959A6;

    private readonly Lock _gate = new();
    private readonly Aes256NiBlockCipher? _hardware;
    private readonly Aes? _framework;
    private bool _disposed;
    private bool _erased;

    /// <summary>Sets up the key schedule for <paramref name="key"/> on the path <paramref name="path"/> asks for.</summary>
    /// <exception cref="PlatformNotSupportedException"><see cref="KeyWrapPath.Hardware"/> on a processor without AES-NI.</exception>
    public AesKeyWrapPadded(ReadOnlySpan<byte> key, KeyWrapPath path = KeyWrapPath.Automatic)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("The key-encryption key must be 256 bits.", nameof(key));
        }

        if (path == KeyWrapPath.Automatic)
        {
            var forced = AppContext.TryGetSwitch(UseFrameworkSwitch, out var useFramework) && useFramework;
            path = Aes256NiBlockCipher.IsSupported && !forced ? KeyWrapPath.Hardware : KeyWrapPath.Framework;
        }

        if (path == KeyWrapPath.Hardware)
        {
            if (!Aes256NiBlockCipher.IsSupported)
            {
                throw new PlatformNotSupportedException("This processor has no AES-NI; use the framework key wrap.");
            }

            _hardware = new Aes256NiBlockCipher(key);
        }
        else
        {
            // SetKey copies from the span: no array of key bytes is left behind to zero.
            _framework = Aes.Create();
            _framework.SetKey(key);
        }

        Path = path;
    }

    /// <summary>Which implementation this instance runs: <see cref="KeyWrapPath.Hardware"/> or <see cref="KeyWrapPath.Framework"/>.</summary>
    public KeyWrapPath Path { get; }

    /// <summary>The wrapped length of a plaintext: padded to 8 bytes, plus the 8-byte integrity block.</summary>
    public static int GetWrappedLength(int plaintextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(plaintextLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(plaintextLength, MaxPlaintextLength);
        return ((plaintextLength + 7) & ~7) + 8;
    }

    /// <summary>Wraps <paramref name="plaintext"/> into <paramref name="destination"/>, which must be exactly <see cref="GetWrappedLength"/> long.</summary>
    public void Wrap(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var length = GetWrappedLength(plaintext.Length);
        if (destination.Length != length)
        {
            throw new ArgumentException($"The destination must be {length} bytes.", nameof(destination));
        }

        lock (_gate)
        {
            ThrowIfUnusable();
            if (_framework is not null)
            {
                _framework.EncryptKeyWrapPadded(plaintext, destination);
                return;
            }

            destination.Clear();
            plaintext.CopyTo(destination[8..]);
            BinaryPrimitives.WriteUInt32BigEndian(destination, AlternativeIvPrefix);
            BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)plaintext.Length);
            if (length == 16)
            {
                _hardware!.EncryptBlock(Vector128.Create((ReadOnlySpan<byte>)destination)).CopyTo(destination);
                return;
            }

            WrapSemiblocks(_hardware!, MemoryMarshal.Cast<byte, ulong>(destination));
        }
    }

    /// <summary>
    /// Unwraps and checks integrity. Returns false, leaving <paramref name="destination"/> cleared,
    /// when the input is malformed, was wrapped under another key, or was tampered with.
    /// </summary>
    public bool TryUnwrap(ReadOnlySpan<byte> wrapped, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (wrapped.Length < 16 || wrapped.Length % 8 != 0 || wrapped.Length > MaxPlaintextLength + 8)
        {
            return false;
        }

        lock (_gate)
        {
            ThrowIfUnusable();
            return _framework is not null
                ? TryUnwrapFramework(_framework, wrapped, destination, out bytesWritten)
                : TryUnwrapHardware(_hardware!, wrapped, destination, out bytesWritten);
        }
    }

    /// <summary>Zeroes the key schedule; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            ReleaseSchedule();
        }
    }

    /// <summary>
    /// Zeroes the key schedule because the version's material was destroyed: later calls throw
    /// <see cref="KeyMaterialErasedException"/>, which callers report as a destroyed version (not
    /// as a disposed object, which would be a bug).
    /// </summary>
    public void Erase()
    {
        lock (_gate)
        {
            _erased = true;
            ReleaseSchedule();
        }
    }

    // Zeroes the key schedule (the framework's Aes clears its key on dispose); callers hold the gate.
    private void ReleaseSchedule()
    {
        _hardware?.Dispose();
        _framework?.Dispose();
    }

    private void ThrowIfUnusable()
    {
        if (_erased)
        {
            throw new KeyMaterialErasedException();
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    // RFC 3394 section 2.2.1 over 64-bit semiblocks: words[0] is the integrity register A,
    // words[1..n] the registers R. Words hold bytes in memory order; the counter is big-endian.
    private static void WrapSemiblocks(Aes256NiBlockCipher cipher, Span<ulong> words)
    {
        var n = words.Length - 1;
        var a = words[0];
        for (var j = 0; j < 6; j++)
        {
            for (var i = 1; i <= n; i++)
            {
                var block = cipher.EncryptBlock(Vector128.Create(a, words[i]).AsByte()).AsUInt64();
                a = block.GetElement(0) ^ BigEndianCounter((ulong)((n * j) + i));
                words[i] = block.GetElement(1);
            }
        }

        words[0] = a;
    }

    private static bool TryUnwrapHardware(Aes256NiBlockCipher cipher, ReadOnlySpan<byte> wrapped, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        // Exactly the input's size (checked against MaxPlaintextLength by the caller): a fixed
        // 4 KiB buffer would be cleared on every call, which cost more than the unwrap itself.
        Span<byte> work = stackalloc byte[wrapped.Length];
        try
        {
            if (wrapped.Length == 16)
            {
                cipher.DecryptBlock(Vector128.Create(wrapped)).CopyTo(work);
            }
            else
            {
                var words = MemoryMarshal.Cast<byte, ulong>(work);
                MemoryMarshal.Cast<byte, ulong>(wrapped).CopyTo(words);
                UnwrapSemiblocks(cipher, words);
            }

            return TryTakePlaintext(work, destination, out bytesWritten);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(work);
        }
    }

    private static void UnwrapSemiblocks(Aes256NiBlockCipher cipher, Span<ulong> words)
    {
        var n = words.Length - 1;
        var a = words[0];
        for (var j = 5; j >= 0; j--)
        {
            for (var i = n; i >= 1; i--)
            {
                var input = Vector128.Create(a ^ BigEndianCounter((ulong)((n * j) + i)), words[i]).AsByte();
                var block = cipher.DecryptBlock(input).AsUInt64();
                a = block.GetElement(0);
                words[i] = block.GetElement(1);
            }
        }

        words[0] = a;
    }

    // RFC 5649 section 3: the recovered integrity block must be the alternative IV with a length
    // that fits the semiblock count, and the padding must be zeros. Checks are combined so the
    // rejection does not branch on which one failed.
    private static bool TryTakePlaintext(ReadOnlySpan<byte> work, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        var padded = work.Length - 8;
        var declared = BinaryPrimitives.ReadUInt32BigEndian(work[4..]);
        var bad = BinaryPrimitives.ReadUInt32BigEndian(work) != AlternativeIvPrefix;
        bad |= declared <= (uint)(padded - 8) || declared > (uint)padded;
        if (bad)
        {
            return false;
        }

        var length = (int)declared;
        byte padding = 0;
        foreach (var b in work[(8 + length)..])
        {
            padding |= b;
        }

        if (padding != 0 || destination.Length < length)
        {
            return false;
        }

        work.Slice(8, length).CopyTo(destination);
        bytesWritten = length;
        return true;
    }

    private static bool TryUnwrapFramework(Aes aes, ReadOnlySpan<byte> wrapped, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        Span<byte> work = stackalloc byte[MaxPlaintextLength];
        try
        {
            var length = aes.DecryptKeyWrapPadded(wrapped, work);
            if (destination.Length < length)
            {
                return false;
            }

            work[..length].CopyTo(destination);
            bytesWritten = length;
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(work);
        }
    }

    private static ulong BigEndianCounter(ulong t) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(t) : t;
}
