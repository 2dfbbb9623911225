using System.CommandLine;
using Rekey.Errors;

namespace Rekey.Cli;

/// <summary>Options every command takes, and where output goes.</summary>
internal sealed class GlobalOptions
{
    public Option<string> Dir { get; } = new("--dir")
    {
        Description = "The local store's folder (default: $REKEY_DIR, else ./.rekey).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("REKEY_DIR") is { Length: > 0 } dir ? dir : ".rekey",
    };

    public Option<OutputFormat> Format { get; } = new("--format")
    {
        Description = "Output format: table or json (errors too, as one JSON object on standard error); rekey report also takes markdown and html.",
        HelpName = "table|json|markdown|html",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public TextWriter Stdout { get; set; } = Console.Out;

    /// <summary>True when --format json was given: errors are written as JSON too.</summary>
    public bool JsonErrors { get; set; }

    public TextWriter Stderr { get; set; } = Console.Error;

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Dir);
        root.Options.Add(Format);
    }

    public Output OutputFor(ParseResult parse) => parse.GetValue(Format) is OutputFormat.Markdown or OutputFormat.Html
        ? throw new UsageException("--format markdown and html are for rekey report; other commands print table or json.")
        : new(parse.GetValue(Format), Stdout);

    /// <summary>The server to talk to (REKEY_ADDR), or null for the local store.</summary>
    public static Uri? ServerAddress()
    {
        if (Environment.GetEnvironmentVariable("REKEY_ADDR") is not { Length: > 0 } text)
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var address) && (address.Scheme == Uri.UriSchemeHttp || address.Scheme == Uri.UriSchemeHttps)
            ? address
            : throw new UsageException($"REKEY_ADDR='{text}' is not an http:// or https:// address.");
    }

    /// <summary>A client for REKEY_ADDR with REKEY_TOKEN.</summary>
    public static Client.RekeyClient OpenClient(Uri address)
    {
        var token = Environment.GetEnvironmentVariable("REKEY_TOKEN") is { Length: > 0 } value
            ? value
            : throw new UsageException("REKEY_ADDR is set but REKEY_TOKEN is not: export the token the server gave you.");
        var options = new Client.RekeyClientOptions
        {
            Address = address,
            Token = token,

            // REKEY_CACERT names PEM certificates to trust as the only roots for the server's
            // certificate (a private CA, or the dev server's own); the host name must still match.
            CaCertificateFile = Environment.GetEnvironmentVariable("REKEY_CACERT") is { Length: > 0 } caPath ? caPath : null,
        };
        try
        {
            return new Client.RekeyClient(options);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.InvalidRequest && options.CaCertificateFile is not null)
        {
            throw new UsageException($"REKEY_CACERT: {e.Message}");
        }
    }

    /// <summary>Runs <paramref name="work"/> against the server when REKEY_ADDR is set, else against the local store in --dir.</summary>
    public async Task<T> WithServiceAsync<T>(ParseResult parse, Func<IKeyService, Task<T>> work, CancellationToken cancellationToken)
    {
        if (ServerAddress() is { } address)
        {
            using var client = OpenClient(address);
            return await work(client).ConfigureAwait(false);
        }

        var home = StoreHome.Open(parse.GetValue(Dir)!);
        await using var open = await home.OpenServiceAsync(null, cancellationToken).ConfigureAwait(false);
        return await work(open.Service).ConfigureAwait(false);
    }
}
