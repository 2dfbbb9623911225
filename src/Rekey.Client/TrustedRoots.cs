using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rekey.Errors;

namespace Rekey.Client;

/// <summary>
/// An HTTP handler that trusts only the certificates in one PEM file as roots for the server's
/// certificate: a private CA, or a dev server's self-signed one. The host name must still match.
/// </summary>
public static class TrustedRoots
{
    /// <summary>A handler trusting only the PEM certificates in <paramref name="caCertificateFile"/>.</summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> when the file cannot be read as PEM certificates.</exception>
    public static HttpClientHandler Handler(string caCertificateFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(caCertificateFile);
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(caCertificateFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{caCertificateFile}' is not a readable PEM certificate: {e.Message}");
        }

        if (roots.Count == 0)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{caCertificateFile}' holds no PEM certificate.");
        }

        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
            {
                // Only the chain is judged here; a name mismatch or a missing certificate still fails.
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            },
        };
    }
}
