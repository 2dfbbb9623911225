namespace Rekey.Server.Hosting;

/// <summary>The server's options are not usable; <see cref="Problems"/> says every reason.</summary>
public sealed class RekeyServerOptionsException(IReadOnlyList<string> problems)
    : Exception("The server's configuration is not usable:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    /// <summary>Each problem, in words an operator can act on.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
