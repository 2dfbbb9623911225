using Rekey.Errors;
using Rekey.Files;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A backup set: every encrypted file under a directory (recursively) whose name matches a
/// pattern (<c>*.rkf</c> by default). Each file is a row: its id is its path relative to the
/// directory, in ordinal order, and its one value is the data key's envelope in its active header
/// slot. Writing moves the file by a header-only re-wrap, and only if its active envelope is still
/// the one read (a file rewritten meanwhile is left alone, as a changed row is).
/// </summary>
internal sealed class FileSetSource : IRewrapSource
{
    private readonly string _directory;
    private readonly string _pattern;
    private readonly bool _descending;

    public FileSetSource(SourceDefinition source, bool descending)
    {
        _directory = Path.GetFullPath(source.Connection);
        if (!Directory.Exists(_directory))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The backup set's directory '{_directory}' does not exist.");
        }

        _pattern = string.IsNullOrEmpty(source.Table) ? DefaultPattern : source.Table;
        _descending = descending;
        Name = $"files://{_directory}/{_pattern}";
    }

    /// <summary>The files a backup set holds unless it says otherwise.</summary>
    public const string DefaultPattern = "*.rkf";

    public string Name { get; }

    /// <summary>Checks a backup set's definition: a file-name pattern (no directory part) and rewrap mode only.</summary>
    public static void Validate(SourceDefinition source)
    {
        var pattern = string.IsNullOrEmpty(source.Table) ? DefaultPattern : source.Table;
        if (pattern.Contains('/', StringComparison.Ordinal) || pattern.Contains('\\', StringComparison.Ordinal) || pattern.Contains("..", StringComparison.Ordinal))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"A backup set's pattern is a file-name pattern such as *.rkf, not '{pattern}'.");
        }
    }

    public Task<long> CountAsync(CancellationToken cancellationToken) => Task.FromResult((long)Files().Count);

    public async Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, ByteArena arena, CancellationToken cancellationToken)
    {
        var rows = new List<SourceRow>(limit);
        var header = new byte[FileLayout.HeaderSize];
        foreach (var relative in Files())
        {
            if (after is string last && (_descending ? string.CompareOrdinal(relative, last) >= 0 : string.CompareOrdinal(relative, last) <= 0))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var values = new ReadOnlyMemory<byte>?[1];
            if (await ReadHeaderAsync(relative, header, cancellationToken).ConfigureAwait(false) && FileLayout.TryActiveEnvelope(header, out _, out _, out var envelope))
            {
                values[0] = arena.Copy(envelope);
            }

            // A file that is not an encrypted file (or is damaged) is a row with no value: counted, never written.
            rows.Add(new SourceRow(relative, values));
            if (rows.Count == limit)
            {
                break;
            }
        }

        return rows;
    }

    public async Task<bool[]> WriteAsync(IReadOnlyList<RowUpdate> updates, CancellationToken cancellationToken)
    {
        var written = new bool[updates.Count];
        for (var i = 0; i < updates.Count; i++)
        {
            if (updates[i] is { New: [{ } next], Old: [{ } old] } update)
            {
                written[i] = await RekeyFileStreams.ReplaceEnvelopeAsync(Path.Combine(_directory, (string)update.Id), old, next, cancellationToken).ConfigureAwait(false);
            }
        }

        return written;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private List<string> Files()
    {
        var files = Directory.EnumerateFiles(_directory, _pattern, new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => Path.GetRelativePath(_directory, f))
            .ToList();
        files.Sort(StringComparer.Ordinal);
        if (_descending)
        {
            files.Reverse();
        }

        return files;
    }

    private async Task<bool> ReadHeaderAsync(string relative, byte[] header, CancellationToken cancellationToken)
    {
        try
        {
            await using var file = new FileStream(Path.Combine(_directory, relative), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.Asynchronous);
            return await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == header.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
