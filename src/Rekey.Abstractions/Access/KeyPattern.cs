using System.Diagnostics.CodeAnalysis;
using Rekey.Keys;

namespace Rekey.Access;

/// <summary>
/// Which keys a token may touch: an exact name (<c>tenants/h42/patients</c>), a subtree
/// (<c>tenants/h42/*</c>, every key below <c>tenants/h42/</c>), or <c>*</c> for all keys.
/// The wildcard is only ever a whole last segment, so <c>tenants/h4*</c> is refused: a pattern
/// never matches across a segment boundary by accident.
/// </summary>
public readonly record struct KeyPattern
{
    private readonly string? _value;

    private KeyPattern(string value) => _value = value;

    /// <summary>Every key.</summary>
    public static KeyPattern All { get; } = new("*");

    /// <summary>The pattern as text.</summary>
    public string Value => _value ?? throw new InvalidOperationException("The default KeyPattern has no value.");

    /// <summary>Parses a pattern; throws <see cref="ArgumentException"/> with the reason when invalid.</summary>
    public static KeyPattern Parse(string value) =>
        TryParse(value, out var pattern)
            ? pattern
            : throw new ArgumentException($"Invalid key pattern '{value}': use an exact key name, 'prefix/*' or '*'.", nameof(value));

    /// <summary>Parses a pattern, returning false when it is invalid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out KeyPattern pattern)
    {
        pattern = default;
        if (value is null)
        {
            return false;
        }

        var valid = value == "*"
            || (value.EndsWith("/*", StringComparison.Ordinal) && KeyName.TryParse(value[..^2], out _))
            || KeyName.TryParse(value, out _);
        if (valid)
        {
            pattern = new KeyPattern(value);
        }

        return valid;
    }

    /// <summary>True when the key falls under this pattern.</summary>
    public bool Matches(KeyName key)
    {
        var value = Value;
        if (value == "*")
        {
            return true;
        }

        return value.EndsWith("/*", StringComparison.Ordinal)
            ? key.Value.StartsWith(value.AsSpan(0, value.Length - 1), StringComparison.Ordinal)
            : string.Equals(key.Value, value, StringComparison.Ordinal);
    }

    /// <summary>True when some key name could match both this pattern and <paramref name="other"/>.</summary>
    public bool Overlaps(KeyPattern other)
    {
        var (a, b) = (Value, other.Value);
        if (a == "*" || b == "*")
        {
            return true;
        }

        var aTree = a.EndsWith("/*", StringComparison.Ordinal);
        var bTree = b.EndsWith("/*", StringComparison.Ordinal);
        return (aTree, bTree) switch
        {
            (true, true) => a.AsSpan(0, a.Length - 1).StartsWith(b.AsSpan(0, b.Length - 1), StringComparison.Ordinal) || b.AsSpan(0, b.Length - 1).StartsWith(a.AsSpan(0, a.Length - 1), StringComparison.Ordinal),
            (true, false) => Matches(KeyName.Parse(b)),
            (false, true) => other.Matches(KeyName.Parse(a)),
            _ => string.Equals(a, b, StringComparison.Ordinal),
        };
    }

    /// <inheritdoc />
    public override string ToString() => _value ?? string.Empty;
}
