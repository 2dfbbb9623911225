using System.CommandLine;

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
        Description = "Output format: table or json.",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public TextWriter Stdout { get; set; } = Console.Out;

    public TextWriter Stderr { get; set; } = Console.Error;

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Dir);
        root.Options.Add(Format);
    }

    public Output OutputFor(ParseResult parse) => new(parse.GetValue(Format), Stdout);

    public async Task<T> WithServiceAsync<T>(ParseResult parse, Func<RekeyService, Task<T>> work, CancellationToken cancellationToken)
    {
        var home = StoreHome.Open(parse.GetValue(Dir)!);
        await using var open = await home.OpenServiceAsync(null, cancellationToken).ConfigureAwait(false);
        return await work(open.Service).ConfigureAwait(false);
    }
}
