using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Rekey.Audit;

/// <summary>
/// A place outside the key store where every signed checkpoint is also written, so that whoever
/// can write the database cannot cut the log's tail or rewrite it behind a checkpoint without the
/// witness disagreeing. <c>rekey audit verify --witness</c> reads it back.
/// </summary>
public interface IAuditWitness
{
    /// <summary>Records a checkpoint; throws when it cannot, so the checkpoint is not reported as witnessed.</summary>
    Task WriteAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default);
}

/// <summary>
/// A witness that appends one JSON line per checkpoint to a file (opened for append only, flushed
/// to disk before returning), or writes it to standard output for a log shipper when the path is
/// <c>-</c>. The line format is in docs/formats.md.
/// </summary>
public sealed class FileAuditWitness : IAuditWitness
{
    /// <summary>The path that means standard output.</summary>
    public const string StandardOutput = "-";

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates a witness writing to <paramref name="path"/> (a file, created 0600 if missing) or <c>-</c> for standard output.</summary>
    public FileAuditWitness(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path == StandardOutput ? path : System.IO.Path.GetFullPath(path);
    }

    /// <summary>Where lines go: a full file path, or <c>-</c>.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public async Task WriteAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var line = Encoding.UTF8.GetBytes(AuditWitnessLine.Format(checkpoint) + "\n");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Path == StandardOutput)
            {
                using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using var file = new FileStream(Path, options);
            await file.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The witness line format: one JSON object per checkpoint, and the reader for a witness file.</summary>
public static class AuditWitnessLine
{
    /// <summary>The value of each line's <c>type</c> field.</summary>
    public const string Type = "rekey.audit.checkpoint";

    /// <summary>One line (without the newline) for a checkpoint.</summary>
    public static string Format(AuditCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", Type);
            json.WriteNumber("sequence", checkpoint.Sequence);
            json.WriteString("hash", checkpoint.Hash);
            json.WriteString("time", checkpoint.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("key_id", checkpoint.KeyId);
            json.WriteString("signature", Convert.ToBase64String(checkpoint.Signature));
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Reads every checkpoint from a witness file. Blank lines are skipped; any other line that is
    /// not a checkpoint line is an error naming its line number, since a witness that cannot be
    /// read whole cannot vouch for anything.
    /// </summary>
    /// <exception cref="FormatException">A line is not a checkpoint line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<AuditCheckpoint> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var result = new List<AuditCheckpoint>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            result.Add(Parse(line) ?? throw new FormatException($"Line {number} of the witness file '{path}' is not a Rekey checkpoint line."));
        }

        return result;
    }

    /// <summary>Parses one line; null when it is not a checkpoint line.</summary>
    public static AuditCheckpoint? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != Type
                || !root.TryGetProperty("sequence", out var sequence) || !sequence.TryGetInt64(out var seq) || seq < 1
                || !root.TryGetProperty("hash", out var hash) || hash.GetString() is not { Length: 64 } hashText || hashText.AsSpan().ContainsAnyExcept("0123456789abcdef")
                || !root.TryGetProperty("time", out var time) || !DateTimeOffset.TryParseExact(time.GetString(), "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                || !root.TryGetProperty("key_id", out var keyId) || keyId.GetString() is not { Length: > 0 } keyIdText
                || !root.TryGetProperty("signature", out var signature) || signature.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            return new AuditCheckpoint(seq, hashText, at, keyIdText, signature.GetBytesFromBase64());
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
