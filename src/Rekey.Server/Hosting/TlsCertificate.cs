using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Rekey.Server.Hosting;

/// <summary>
/// The server's TLS certificate, read from a PEM certificate and key and read again when either
/// file's contents change (compared by hash every few seconds; timestamps are not trusted, as a
/// copy may keep the old one), so a renewed certificate is served to new
/// connections without a restart and without dropping the connections already open. A renewal
/// that cannot be read keeps the current certificate and is logged.
/// </summary>
internal sealed partial class TlsCertificate : IDisposable
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private byte[] _stamp;
    private X509Certificate2 _current;

    public TlsCertificate(string certPath, string keyPath, ILogger logger, TimeProvider time)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _logger = logger;
        _time = time;
        _current = TryLoad(certPath, keyPath, out var problem) ?? throw new RekeyServerOptionsException([problem!]);
        _stamp = Stamp() ?? [];
        _timer = time.CreateTimer(_ => Check(), null, CheckInterval, CheckInterval);
    }

    /// <summary>The certificate new TLS handshakes get.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current);

    /// <summary>Reads a PEM pair; null with a sentence saying why when it cannot be used.</summary>
    public static X509Certificate2? TryLoad(string certPath, string keyPath, out string? problem)
    {
        problem = null;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);

            // Exported and re-imported: the key from a PEM file is ephemeral, which TLS on Linux accepts, but this works everywhere.
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            if (!certificate.HasPrivateKey)
            {
                problem = $"The TLS key '{keyPath}' does not belong to the certificate '{certPath}'.";
                certificate.Dispose();
                return null;
            }

            return certificate;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            problem = $"The TLS certificate '{certPath}' and key '{keyPath}' cannot be used: {e.Message.TrimEnd('.')}. Both must be PEM files, the key the certificate's own.";
            return null;
        }
    }

    /// <summary>Reads the files again if they changed since the last look.</summary>
    public void Check()
    {
        var stamp = Stamp();
        if (stamp is null || stamp.AsSpan().SequenceEqual(_stamp))
        {
            return;
        }

        var next = TryLoad(_certPath, _keyPath, out var problem);
        if (next is null)
        {
            // Half-written renewal, or a mismatched pair: keep serving the current one, try again later.
            LogReloadFailed(_logger, problem!);
            return;
        }

        _stamp = stamp;
        var previous = Interlocked.Exchange(ref _current, next);
        LogReloaded(_logger, next.Subject, next.NotAfter);

        // Handshakes in flight may still hold the previous certificate; let them finish first.
        _ = Task.Delay(TimeSpan.FromMinutes(1), _time).ContinueWith(_ => previous.Dispose(), TaskScheduler.Default);
    }

    public void Dispose()
    {
        _timer.Dispose();
        _current.Dispose();
    }

    // SHA-256 over both files' contents; null while they cannot be read (a renewal being written).
    private byte[]? Stamp()
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(File.ReadAllBytes(_certPath));
            var key = File.ReadAllBytes(_keyPath);
            hash.AppendData(key);
            CryptographicOperations.ZeroMemory(key);
            return hash.GetHashAndReset();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "TLS certificate reloaded: {Subject}, valid until {NotAfter:O}")]
    private static partial void LogReloaded(ILogger logger, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "The changed TLS certificate could not be loaded; still serving the previous one: {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string problem);
}
