using System.Buffers.Binary;
using System.Security.Cryptography;
using Rekey.Crypto;
using Rekey.Errors;

namespace Rekey.Root;

/// <summary>
/// A root key held on this machine: either 256 random bits in a key file readable only by its
/// owner, or derived from a passphrase with PBKDF2-HMAC-SHA256 and a random salt kept in a
/// parameters file. Wraps material with AES-256-GCM, binding it to its slot.
/// </summary>
/// <remarks>
/// A key file that group or others can read is refused at open: a leaked root key exposes every
/// key version. The passphrase parameters file holds a check value so a wrong passphrase is
/// reported as such instead of as a failure to unwrap every key later.
/// </remarks>
public sealed class LocalRootKeyProvider : IRootKeyProvider, IDisposable
{
    /// <summary>The fewest PBKDF2 iterations accepted (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).</summary>
    public const int MinimumIterations = 600_000;

    private const int KeySize = 32;
    private const int SaltSize = 16;
    private const byte WrapFormat = 1;
    private static readonly byte[] KeyFileMagic = "RKROOT1\n"u8.ToArray();
    private static readonly byte[] ParamsFileMagic = "RKPASS1\n"u8.ToArray();
    private static readonly byte[] CheckLabel = "rekey root key check v1"u8.ToArray();
    private static readonly byte[] IdLabel = "rekey root key id v1"u8.ToArray();

    private readonly byte[] _key;
    private volatile bool _disposed;

    private LocalRootKeyProvider(ReadOnlySpan<byte> key)
    {
        _key = GC.AllocateArray<byte>(KeySize, pinned: true);
        key.CopyTo(_key);
        Span<byte> id = stackalloc byte[32];
        HMACSHA256.HashData(_key, IdLabel, id);
        KeyId = "local:" + Convert.ToHexStringLower(id[..8]);
    }

    /// <inheritdoc />
    public string KeyId { get; }

    /// <summary>Creates a new random root key in a new file with mode 0600. Refuses to overwrite.</summary>
    public static LocalRootKeyProvider CreateKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var content = new byte[KeyFileMagic.Length + KeySize];
        try
        {
            KeyFileMagic.CopyTo(content, 0);
            RandomNumberGenerator.Fill(content.AsSpan(KeyFileMagic.Length));
            WriteNewOwnerOnlyFile(path, content);
            return new LocalRootKeyProvider(content.AsSpan(KeyFileMagic.Length));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <summary>Opens an existing key file, refusing one that group or others may read.</summary>
    public static LocalRootKeyProvider OpenKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureOwnerOnly(path);
        var content = ReadRootFile(path);
        try
        {
            if (content.Length != KeyFileMagic.Length + KeySize || !content.AsSpan().StartsWith(KeyFileMagic))
            {
                throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key file '{path}' is not a Rekey root key file.");
            }

            return new LocalRootKeyProvider(content.AsSpan(KeyFileMagic.Length));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <summary>Derives a new root key from a passphrase and writes the salt, iteration count and check value to a new parameters file.</summary>
    public static LocalRootKeyProvider CreateFromPassphrase(string parametersPath, string passphrase, int iterations = MinimumIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(parametersPath);
        CheckPassphrase(passphrase);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);

        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        Span<byte> key = stackalloc byte[KeySize];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, key, iterations, HashAlgorithmName.SHA256);
            var content = new byte[ParamsFileMagic.Length + 4 + SaltSize + 32];
            ParamsFileMagic.CopyTo(content, 0);
            BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(ParamsFileMagic.Length), iterations);
            salt.CopyTo(content, ParamsFileMagic.Length + 4);
            HMACSHA256.HashData(key, CheckLabel, content.AsSpan(ParamsFileMagic.Length + 4 + SaltSize));
            WriteNewOwnerOnlyFile(parametersPath, content);
            return new LocalRootKeyProvider(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Derives the root key from a passphrase and the parameters file; a wrong passphrase is refused.</summary>
    public static LocalRootKeyProvider OpenFromPassphrase(string parametersPath, string passphrase)
    {
        ArgumentException.ThrowIfNullOrEmpty(parametersPath);
        CheckPassphrase(passphrase);
        var content = ReadRootFile(parametersPath);
        if (content.Length != ParamsFileMagic.Length + 4 + SaltSize + 32 || !content.AsSpan().StartsWith(ParamsFileMagic))
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"'{parametersPath}' is not a Rekey passphrase parameters file.");
        }

        var iterations = BinaryPrimitives.ReadInt32BigEndian(content.AsSpan(ParamsFileMagic.Length));
        if (iterations < MinimumIterations)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"'{parametersPath}' asks for {iterations} PBKDF2 iterations; at least {MinimumIterations} are required.");
        }

        var salt = content.AsSpan(ParamsFileMagic.Length + 4, SaltSize);
        var expectedCheck = content.AsSpan(ParamsFileMagic.Length + 4 + SaltSize);
        Span<byte> key = stackalloc byte[KeySize];
        Span<byte> check = stackalloc byte[32];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, key, iterations, HashAlgorithmName.SHA256);
            HMACSHA256.HashData(key, CheckLabel, check);
            if (!CryptographicOperations.FixedTimeEquals(check, expectedCheck))
            {
                throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, "The passphrase does not match this store's root key.");
            }

            return new LocalRootKeyProvider(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <inheritdoc />
    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> material, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var wrapped = new byte[1 + DataCipher.NonceSize + material.Length + DataCipher.TagSize];
        wrapped[0] = WrapFormat;
        var nonce = wrapped.AsSpan(1, DataCipher.NonceSize);
        RandomNumberGenerator.Fill(nonce);
        DataCipher.Encrypt(_key, nonce, material.Span, binding.Span, wrapped.AsSpan(1 + DataCipher.NonceSize, material.Length), wrapped.AsSpan(wrapped.Length - DataCipher.TagSize));
        return ValueTask.FromResult(wrapped);
    }

    /// <inheritdoc />
    public ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var span = wrapped.Span;
        // The largest secret a root wraps is an import token's RSA-4096 private key (about 2.4 KB);
        // 4 KiB is also the most AWS KMS encrypts, so every root takes the same secrets.
        if (span.Length < 1 + DataCipher.NonceSize + DataCipher.TagSize + 1 || span.Length > 4096 || span[0] != WrapFormat)
        {
            throw NotOurs();
        }

        var body = span[(1 + DataCipher.NonceSize)..^DataCipher.TagSize];
        var material = new byte[body.Length];
        if (!DataCipher.TryDecrypt(_key, span.Slice(1, DataCipher.NonceSize), body, span[^DataCipher.TagSize..], binding.Span, material))
        {
            throw NotOurs();
        }

        return ValueTask.FromResult(material);
    }

    /// <summary>Zeroes the root key held in memory; wrapping or unwrapping afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        // Set first, so a call racing the dispose is refused rather than run with a zeroed key.
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static RekeyException NotOurs() =>
        new(RekeyErrorCode.RootKeyRefused, "Stored key material was not wrapped by this root key (wrong root key, or the material was altered).");

    private static void CheckPassphrase(string passphrase)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        if (passphrase.Length < 12)
        {
            throw new ArgumentException("The passphrase must be at least 12 characters long.", nameof(passphrase));
        }
    }

    private static byte[] ReadRootFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key file '{path}' cannot be read: {e.Message}", e);
        }
    }

    private static void EnsureOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key file '{path}' cannot be read: {e.Message}", e);
        }

        const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & groupOrOthers) != 0)
        {
            throw new RekeyException(
                RekeyErrorCode.RootKeyUnavailable,
                $"The root key file '{path}' is accessible by group or others; restrict it with 'chmod 600 {path}'.");
        }
    }

    private static void WriteNewOwnerOnlyFile(string path, byte[] content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }
}
