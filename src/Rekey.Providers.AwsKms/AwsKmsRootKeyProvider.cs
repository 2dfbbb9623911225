using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Rekey.Errors;
using Rekey.Root;

namespace Rekey.Providers.AwsKms;

/// <summary>
/// A root key in AWS KMS (or any KMS-compatible endpoint): KEK material is sealed with KMS
/// <c>Encrypt</c> under the configured key, with an encryption context naming the slot (key and
/// version), and opened with <c>Decrypt</c> on a cache miss. KMS binds the context, so material
/// moved to another slot, altered, or sealed by another key is refused by KMS itself.
/// </summary>
/// <remarks>
/// Stored form: <c>0x01 || the KMS ciphertext blob</c>. Throttling, timeouts and network errors
/// are retried by the SDK (standard mode, with backoff) and then reported as
/// <see cref="RekeyErrorCode.RootKeyUnavailable"/>; a ciphertext KMS rejects is
/// <see cref="RekeyErrorCode.RootKeyRefused"/>.
/// </remarks>
public sealed class AwsKmsRootKeyProvider : IRootKeyProvider
{
    private const byte Format = 1;
    private const string ContextName = "rekey:slot";

    private readonly IAmazonKeyManagementService _kms;
    private readonly string _keyArn;
    private int _disposed;

    private AwsKmsRootKeyProvider(IAmazonKeyManagementService kms, string keyArn)
    {
        _kms = kms;
        _keyArn = keyArn;
        KeyId = "awskms:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keyArn))[..8]);
    }

    /// <inheritdoc />
    public string KeyId { get; }

    /// <summary>
    /// Creates a new symmetric KMS key (for <c>rekey root rotate</c>) in the account and region
    /// <paramref name="options"/> reach, and returns its ARN; the key in <paramref name="options"/> is not used.
    /// </summary>
    public static async Task<string> CreateKeyAsync(AwsKmsRootOptions options, string description, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var kms = Client(options);
        var created = await Call(
            () => kms.CreateKeyAsync(new CreateKeyRequest { Description = description, KeySpec = KeySpec.SYMMETRIC_DEFAULT, KeyUsage = KeyUsageType.ENCRYPT_DECRYPT }, cancellationToken),
            "create a key").ConfigureAwait(false);
        return created.KeyMetadata.Arn;
    }

    private static AmazonKeyManagementServiceClient Client(AwsKmsRootOptions options)
    {
        var config = new AmazonKeyManagementServiceConfig { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = 3, Timeout = options.Timeout };

        // An endpoint and a region endpoint exclude each other in the SDK's configuration: with an
        // endpoint, the region only signs the requests.
        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url;
            config.AuthenticationRegion = options.Region;
        }
        else if (options.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return new AmazonKeyManagementServiceClient(config);
    }

    /// <summary>
    /// Connects and checks the key: it must exist, be enabled and be a symmetric encryption key.
    /// <c>RootKeyUnavailable</c> naming what is wrong.
    /// </summary>
    public static async Task<AwsKmsRootKeyProvider> OpenAsync(AwsKmsRootOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var kms = Client(options);
        try
        {
            var described = await Call(() => kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = options.KeyId }, cancellationToken), "describe the key").ConfigureAwait(false);
            var metadata = described.KeyMetadata;
            // Usage and spec left out of the answer mean the defaults (ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT).
            if (metadata.KeyState != KeyState.Enabled || (metadata.KeyUsage is { } usage && usage != KeyUsageType.ENCRYPT_DECRYPT) || (metadata.KeySpec is { } spec && spec != KeySpec.SYMMETRIC_DEFAULT))
            {
                throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The AWS KMS key '{options.KeyId}' is {metadata.KeyState}, {metadata.KeyUsage}, {metadata.KeySpec}; the root must be an enabled SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT.");
            }

            return new AwsKmsRootKeyProvider(kms, metadata.Arn);
        }
        catch
        {
            kms.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> material, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        var bytes = material.ToArray();
        var plain = new MemoryStream(bytes, writable: false);
        try
        {
            var sealedBlob = await Call(
                () => _kms.EncryptAsync(new EncryptRequest { KeyId = _keyArn, Plaintext = plain, EncryptionContext = Context(binding.Span) }, cancellationToken),
                "wrap").ConfigureAwait(false);
            var blob = sealedBlob.CiphertextBlob.ToArray();
            var wrapped = new byte[1 + blob.Length];
            wrapped[0] = Format;
            blob.CopyTo(wrapped, 1);
            return wrapped;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <inheritdoc />
    public async ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        if (wrapped.Length < 2 || wrapped.Span[0] != Format)
        {
            throw Refused();
        }

        try
        {
            var opened = await Call(
                () => _kms.DecryptAsync(new DecryptRequest { KeyId = _keyArn, CiphertextBlob = new MemoryStream(wrapped[1..].ToArray()), EncryptionContext = Context(binding.Span) }, cancellationToken),
                "unwrap").ConfigureAwait(false);
            var plain = opened.Plaintext.ToArray();
            if (opened.Plaintext.TryGetBuffer(out var buffer))
            {
                CryptographicOperations.ZeroMemory(buffer);
            }

            return plain;
        }
        catch (AmazonKeyManagementServiceException e) when (e is InvalidCiphertextException or IncorrectKeyException)
        {
            throw Refused();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _kms.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private static Dictionary<string, string> Context(ReadOnlySpan<byte> binding) => new(StringComparer.Ordinal) { [ContextName] = Convert.ToBase64String(binding) };

    private static RekeyException Refused() => new(RekeyErrorCode.RootKeyRefused, "The AWS KMS root key refused the wrapped material (another root's, another slot's, or altered).");

    /// <summary>Runs a KMS call; what the SDK could not get through after its retries is reported unavailable (nothing changed).</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call, string what)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonKeyManagementServiceException e) when (e is InvalidCiphertextException or IncorrectKeyException)
        {
            throw;
        }
        catch (AmazonKeyManagementServiceException e) when (e is NotFoundException or DisabledException or KMSInvalidStateException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"AWS KMS could not {what}: {e.ErrorCode} ({e.Message.TrimEnd('.')}).");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException or TimeoutException or TaskCanceledException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"AWS KMS could not {what} ({e.GetType().Name}); try again.");
        }
    }
}
