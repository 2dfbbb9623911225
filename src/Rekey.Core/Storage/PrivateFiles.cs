using Rekey.Errors;

namespace Rekey.Storage;

/// <summary>
/// Owner-only files and folders: what holds keys, their wrapped material or the configuration
/// naming them is created 0600 (files) or 0700 (folders), and is refused when group or others may
/// read it, as the root key file is. (No-ops on Windows, where ACLs decide.)
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates an empty owner-only file unless it exists.</summary>
    public static void CreateIfMissing(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }

        try
        {
            using var _ = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created by someone else in the meantime; its mode is checked next.
        }
    }

    /// <summary>Creates an owner-only folder, or makes an existing one owner-only.</summary>
    public static void CreateFolder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// Throws a non-transient <see cref="RekeyStoreException"/> naming the fix when the file or
    /// folder at <paramref name="path"/> can be used by group or others. Missing paths pass.
    /// </summary>
    /// <param name="path">The file or folder.</param>
    /// <param name="what">What it is, for the message ("the store database").</param>
    public static void EnsurePrivate(string path, string what)
    {
        if (Problem(path, what) is { } problem)
        {
            throw new RekeyStoreException(problem, isTransient: false);
        }
    }

    /// <summary>The sentence <see cref="EnsurePrivate"/> would throw, or null when the path is private or missing.</summary>
    public static string? Problem(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows() || (!File.Exists(path) && !Directory.Exists(path)))
        {
            return null;
        }

        var fix = Directory.Exists(path) ? "700" : "600";
        return (File.GetUnixFileMode(path) & GroupOrOthers) != 0
            ? $"{what} '{path}' is accessible by group or others; restrict it with 'chmod {fix} {path}'."
            : null;
    }
}
