using Rekey.Client;

namespace Rekey.Hosting;

/// <summary>
/// How <c>AddRekey</c> reaches Rekey, bound from the configuration section <c>Rekey</c>. Set
/// <see cref="Server"/> (<c>Rekey:Server:Address</c> and <c>Rekey:Server:Token</c>) to use a Rekey
/// server, or <see cref="RekeyStackOptions.Store"/> and a root key to run Rekey in this process;
/// not both.
/// </summary>
public sealed class RekeyOptions : RekeyStackOptions
{
    /// <summary>A Rekey server to use through <see cref="RekeyClient"/>: its address, token (from the environment, <c>Rekey__Server__Token</c>, or a secret store), trusted CA, timeout and retries.</summary>
    public RekeyClientOptions Server { get; set; } = new();

    /// <summary>Whether these options name a server (remote) rather than a store (in-process).</summary>
    public bool IsRemote => Server.Address is not null;

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        if (IsRemote && Store is not null)
        {
            return ["Rekey: set either Server:Address (use a Rekey server) or Store (run Rekey in this process), not both."];
        }

        if (!IsRemote && Store is null)
        {
            return ["Rekey: set Server:Address and Server:Token to use a Rekey server, or Store and RootKeyFile to run Rekey in this process."];
        }

        return IsRemote ? Server.Validate().Select(problem => "Rekey:Server: " + problem).ToList() : base.Validate().Select(problem => "Rekey: " + problem).ToList();
    }
}
