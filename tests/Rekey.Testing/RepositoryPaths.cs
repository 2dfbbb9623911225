namespace Rekey.Testing;

/// <summary>Finds the repository root and the shared folder beside it, from wherever tests run.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The external test vectors, at ../shared/vectors from the repository root. Missing means a broken checkout: fail, never skip.</summary>
    public static string Vectors
    {
        get
        {
            var path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "vectors"));
            return Directory.Exists(path)
                ? path
                : throw new DirectoryNotFoundException($"The shared test vectors are missing at {path}; they must sit beside the repository.");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rekey.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Rekey.slnx not found above " + AppContext.BaseDirectory);
    }
}
