using Rekey.Client;

namespace Rekey.Hosting;

/// <summary>
/// How <c>AddRekey</c> reaches Rekey, bound from the configuration section <c>Rekey</c>. Set
/// <see cref="Address"/> (and <see cref="Token"/>) to use a Rekey server, or
/// <see cref="RekeyStackOptions.Store"/> and a root key to run Rekey in this process; not both.
/// </summary>
public sealed class RekeyOptions : RekeyStackOptions
{
    /// <summary>A Rekey server's address: the application then uses <see cref="RekeyClient"/>.</summary>
    public Uri? Address { get; set; }

    /// <summary>The bearer token for <see cref="Address"/>; from the environment (<c>Rekey__Token</c>) or a secret store, not a file checked in.</summary>
    public string? Token { get; set; }

    /// <summary>PEM certificates trusted as the only roots for the server's certificate.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>How long one call to the server may take. Default 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of calls that are safe to repeat, after a transient failure. Default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The wait before the first retry, doubled for each later one. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Whether these options name a server (remote) rather than a store (in-process).</summary>
    public bool IsRemote => Address is not null;

    /// <summary>The client options for <see cref="IsRemote"/>.</summary>
    public RekeyClientOptions ToClientOptions() => new()
    {
        Address = Address,
        Token = Token,
        CaCertificateFile = CaCertificateFile,
        Timeout = Timeout,
        MaxRetries = MaxRetries,
        RetryDelay = RetryDelay,
    };

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        if (Address is not null && Store is not null)
        {
            return ["Rekey: set either Address (use a Rekey server) or Store (run Rekey in this process), not both."];
        }

        if (Address is null && Store is null)
        {
            return ["Rekey: set Address and Token to use a Rekey server, or Store and RootKeyFile to run Rekey in this process."];
        }

        return IsRemote ? ToClientOptions().Validate() : base.Validate().Select(problem => "Rekey: " + problem).ToList();
    }
}
