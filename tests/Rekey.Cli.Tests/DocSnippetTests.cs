using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Rekey.Cli.Tests;

/// <summary>Runs alone: the README's program works in the current folder, which is the process's.</summary>
[CollectionDefinition(nameof(DocSnippetTests), DisableParallelization = true)]
public sealed class DocSnippetCollection;

/// <summary>
/// Every C# block in README.md and docs/ compiles against the built assemblies, as a console
/// program with .NET's implicit usings and nothing else, so the docs cannot drift from the API;
/// the README's runs too.
/// </summary>
[Collection(nameof(DocSnippetTests))]
public sealed partial class DocSnippetTests
{
    private static readonly string[] ImplicitUsings = ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in Documents())
        {
            var count = CSharpBlock().Matches(File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Root, file))).Count;
            for (var i = 0; i < count; i++)
            {
                data.Add(file, i);
            }
        }

        return data;
    }

    [Fact]
    public void Blocks_CoverTheReadmeAndTheGuides()
    {
        var blocks = Blocks().Select(row => ((string)row[0], (int)row[1])).ToList();
        Assert.Contains(("README.md", 0), blocks);
        Assert.Contains(("docs/operations.md", 0), blocks);
        Assert.Contains(("docs/lifecycle.md", 0), blocks);
        Assert.Contains(("docs/files.md", 0), blocks);
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void CSharpBlock_Compiles(string file, int index)
    {
        var (compilation, _) = Compile(file, index);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"{file} block {index + 1}:\n" + string.Join('\n', errors));
    }

    [Fact]
    public async Task ReadmeLibraryProgram_Runs()
    {
        var (compilation, _) = Compile("README.md", 0);
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join('\n', emitted.Diagnostics));

        var folder = Directory.CreateTempSubdirectory("rekey-readme-").FullName;
        var previous = Environment.CurrentDirectory;
        var output = new StringWriter();
        var stdout = Console.Out;
        try
        {
            Environment.CurrentDirectory = folder;
            Console.SetOut(output);
            image.Position = 0;
            var context = new AssemblyLoadContext("readme", isCollectible: true);
            var entry = context.LoadFromStream(image).EntryPoint!;
            for (var run = 0; run < 2; run++)
            {
                // Twice: the second run opens the root key and store the first one made.
                var result = entry.Invoke(null, [Array.Empty<string>()]);
                if (result is Task task)
                {
                    await task;
                }
            }

            context.Unload();
        }
        finally
        {
            Console.SetOut(stdout);
            Environment.CurrentDirectory = previous;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }

        Assert.Equal(2, Regex.Matches(output.ToString(), "rekey:v[23]:.*decrypts to: Jane Doe, 1970-01-01").Count);
    }

    private static IEnumerable<string> Documents() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(Testing.RepositoryPaths.Root, "docs"), "*.md").Select(f => Path.Combine("docs", Path.GetFileName(f))).Order(StringComparer.Ordinal));

    private static (CSharpCompilation Compilation, string Source) Compile(string file, int index)
    {
        var block = CSharpBlock().Matches(File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Root, file)))[index].Groups[1].Value;
        var usings = string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n"));
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(usings, path: "ImplicitUsings.cs"),
            CSharpSyntaxTree.ParseText(block, new CSharpParseOptions(LanguageVersion.Latest), path: file),
        };

        // The framework and every assembly beside the tests (Rekey's own and their dependencies).
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .Where(IsManaged)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "DocSnippet" + index,
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        return (compilation, block);
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
