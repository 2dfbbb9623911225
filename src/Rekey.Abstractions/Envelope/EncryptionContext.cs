using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Rekey.Envelope;

/// <summary>
/// What a ciphertext belongs to (tenant, table, record, purpose), bound into it as associated
/// data: the same context must be given to decrypt, so a ciphertext copied to another record or
/// tenant does not decrypt there. Mandatory on every encrypt and decrypt.
/// </summary>
/// <remarks>
/// A context is not secret and is not stored in the ciphertext; the caller supplies it again on
/// decrypt. Two forms: text (<see cref="From"/>), bound as its UTF-8 bytes, for example
/// <c>tenant=h42;table=patients;id=17</c>; and pairs (<see cref="FromPairs(IEnumerable{KeyValuePair{string, string}})"/>), bound in a
/// canonical, length-prefixed encoding, so a value that contains <c>;</c> or <c>=</c> cannot
/// pass for another pair (docs/formats.md gives the bytes). The two forms never bind the same
/// bytes: a pairs context starts with byte 0xFF, which UTF-8 text never contains.
/// </remarks>
public sealed class EncryptionContext : IEquatable<EncryptionContext>
{
    /// <summary>The longest context accepted, in UTF-8 bytes.</summary>
    public const int MaxLength = 4096;

    /// <summary>The first byte of a pairs context's bound bytes; never found in UTF-8 text.</summary>
    public const byte PairsMarker = 0xFF;

    private const byte PairsVersion = 1;

    private readonly byte[] _utf8;

    private EncryptionContext(string value, byte[] utf8, bool isPairs)
    {
        Value = value;
        _utf8 = utf8;
        IsPairs = isPairs;
    }

    /// <summary>The context as given (text form), or its pairs as a JSON object with sorted keys (pairs form), for display.</summary>
    public string Value { get; }

    /// <summary>Whether this context was made from pairs (<see cref="FromPairs(IEnumerable{KeyValuePair{string, string}})"/>).</summary>
    public bool IsPairs { get; }

    /// <summary>The bytes bound into ciphertexts as associated data.</summary>
    internal ReadOnlySpan<byte> Utf8 => _utf8;

    /// <summary>Creates a context; throws <see cref="ArgumentException"/> when empty or longer than <see cref="MaxLength"/> UTF-8 bytes.</summary>
    public static EncryptionContext From(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
        {
            throw new ArgumentException("The context is empty: every encrypt and decrypt needs the record's context, for example 'tenant=h42;id=17'.", nameof(value));
        }

        var utf8 = Encoding.UTF8.GetBytes(value);
        if (utf8.Length > MaxLength)
        {
            throw new ArgumentException($"An encryption context may be at most {MaxLength} UTF-8 bytes.", nameof(value));
        }

        return new EncryptionContext(value, utf8, isPairs: false);
    }

    /// <summary>
    /// Creates a context from name/value pairs, bound in a canonical encoding: the order they are
    /// given in does not matter, and no value can be mistaken for a separator.
    /// </summary>
    /// <exception cref="ArgumentException">No pairs, an empty or repeated name, or more than <see cref="MaxLength"/> bytes in all.</exception>
    public static EncryptionContext FromPairs(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in pairs)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("A context pair needs a name.", nameof(pairs));
            }

            ArgumentNullException.ThrowIfNull(value);
            if (!sorted.TryAdd(name, value))
            {
                throw new ArgumentException($"The context names '{name}' twice.", nameof(pairs));
            }
        }

        if (sorted.Count == 0)
        {
            throw new ArgumentException("The context has no pairs: every encrypt and decrypt needs the record's context, for example (\"tenant\", \"h42\"), (\"id\", \"17\").", nameof(pairs));
        }

        // 0xFF, version, count (u16); per pair in ordinal order of names: name length (u16),
        // name (UTF-8), value length (u32), value (UTF-8). All integers big-endian.
        var size = 4 + sorted.Sum(p => 2 + Encoding.UTF8.GetByteCount(p.Key) + 4 + Encoding.UTF8.GetByteCount(p.Value));
        if (size > MaxLength || sorted.Count > ushort.MaxValue)
        {
            throw new ArgumentException($"An encryption context may be at most {MaxLength} bytes encoded.", nameof(pairs));
        }

        var bytes = new byte[size];
        bytes[0] = PairsMarker;
        bytes[1] = PairsVersion;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)sorted.Count);
        var at = 4;
        foreach (var (name, value) in sorted)
        {
            var nameLength = Encoding.UTF8.GetBytes(name, bytes.AsSpan(at + 2));
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), (ushort)nameLength);
            at += 2 + nameLength;
            var valueLength = Encoding.UTF8.GetBytes(value, bytes.AsSpan(at + 4));
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), (uint)valueLength);
            at += 4 + valueLength;
        }

        return new EncryptionContext(JsonSerializer.Serialize(sorted, EnvelopeJson.Default.SortedDictionaryStringString), bytes, isPairs: true);
    }

    /// <summary>Creates a context from name/value pairs; see <see cref="FromPairs(IEnumerable{KeyValuePair{string, string}})"/>.</summary>
    public static EncryptionContext FromPairs(params (string Name, string Value)[] pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return FromPairs(pairs.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)));
    }

    /// <inheritdoc />
    public bool Equals(EncryptionContext? other) => other is not null && _utf8.AsSpan().SequenceEqual(other._utf8);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EncryptionContext other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(_utf8);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => Value;
}
