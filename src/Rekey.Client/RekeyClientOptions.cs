namespace Rekey.Client;

/// <summary>
/// Where a <see cref="RekeyClient"/> connects and how patiently. Bound from configuration by
/// <c>AddRekey</c> (section <c>Rekey:Server</c>: <c>Address</c>, <c>Token</c>, <c>CaCertificateFile</c>,
/// <c>Timeout</c>, <c>MaxRetries</c>, <c>RetryDelay</c>).
/// </summary>
/// <remarks>
/// Retries: a call that is safe to repeat (every read, and encrypt, decrypt, rewrap and data-key
/// calls, which change no state) is tried again up to <see cref="MaxRetries"/> times when the
/// server cannot be reached or answers 429, 502, 503 or 504, waiting <see cref="RetryDelay"/>,
/// then twice that, and so on (or the server's <c>Retry-After</c>, when shorter than
/// <see cref="Timeout"/>). Administrative changes (create, rotate, destroy, tokens, jobs) are
/// never repeated by the client: a lost answer may hide a change that was made.
/// </remarks>
public sealed class RekeyClientOptions
{
    /// <summary>The server's base address, for example <c>https://rekey.internal:8200</c>.</summary>
    public Uri? Address { get; set; }

    /// <summary>The bearer token's secret. Keep it out of files checked in; read it from the environment or a secret store.</summary>
    public string? Token { get; set; }

    /// <summary>PEM certificates trusted as the only roots for the server's certificate (a private CA, or the dev server's <c>tls.crt</c>); the host name must still match. Null uses the system's roots.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>How long one attempt may take before it is abandoned as transient (<see cref="Rekey.Errors.RekeyStoreException"/>). Default 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a call that is safe to repeat is tried again after a transient failure. Default 2; 0 turns retries off.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The wait before the first retry; each later one waits twice as long. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Every problem with these options, in words; empty when they can be used.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Address is null)
        {
            problems.Add("Address is not set: the server's address, for example https://rekey.internal:8200.");
        }
        else if (!Address.IsAbsoluteUri || (Address.Scheme != Uri.UriSchemeHttp && Address.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add($"Address '{Address}' is not an http:// or https:// address.");
        }

        if (string.IsNullOrWhiteSpace(Token))
        {
            problems.Add("Token is not set: the token the server's administrator issued for this application.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add("Timeout must be positive.");
        }

        if (MaxRetries is < 0 or > 10)
        {
            problems.Add("MaxRetries must be between 0 and 10.");
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            problems.Add("RetryDelay must not be negative.");
        }

        return problems;
    }
}
