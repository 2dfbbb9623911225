namespace Rekey.Testing;

/// <summary>Finds the repository root and the test data kept in it, from wherever tests run.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The external test vectors, copied into tests/vectors with their licence. Missing means a broken checkout: fail, never skip.</summary>
    public static string Vectors
    {
        get
        {
            var path = Path.Combine(Root, "tests", "vectors");
            return Directory.Exists(path)
                ? path
                : throw new DirectoryNotFoundException($"The test vectors are missing at {path}; the checkout is incomplete.");
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
