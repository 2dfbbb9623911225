using System.Text;

namespace Rekey.Envelope;

/// <summary>
/// What a ciphertext belongs to (tenant, table, record, purpose), bound into it as associated
/// data: the same context must be given to decrypt, so a ciphertext copied to another record or
/// tenant does not decrypt there. Mandatory on every encrypt and decrypt.
/// </summary>
/// <remarks>
/// A context is not secret and is not stored in the ciphertext; the caller supplies it again on
/// decrypt. Use something stable and specific, for example <c>tenant=h42;table=patients;id=17</c>.
/// </remarks>
public sealed class EncryptionContext : IEquatable<EncryptionContext>
{
    /// <summary>The longest context accepted, in UTF-8 bytes.</summary>
    public const int MaxLength = 4096;

    private readonly byte[] _utf8;

    private EncryptionContext(string value, byte[] utf8)
    {
        Value = value;
        _utf8 = utf8;
    }

    /// <summary>The context as given.</summary>
    public string Value { get; }

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

        return new EncryptionContext(value, utf8);
    }

    /// <inheritdoc />
    public bool Equals(EncryptionContext? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EncryptionContext other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public override string ToString() => Value;
}
