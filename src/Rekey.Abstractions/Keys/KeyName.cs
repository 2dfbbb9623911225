using System.Diagnostics.CodeAnalysis;

namespace Rekey.Keys;

/// <summary>
/// The validated name of a key: 1 to 128 characters of <c>a-z 0-9 - _ . /</c>, hierarchical with
/// <c>/</c> (for example <c>tenants/h42/patients</c>), with no empty segment and no <c>.</c> or
/// <c>..</c> segment.
/// </summary>
/// <remarks>The name is written into every ciphertext, so it is restricted to ASCII and bounded.</remarks>
public readonly record struct KeyName
{
    /// <summary>The longest name allowed, in characters (and bytes: names are ASCII).</summary>
    public const int MaxLength = 128;

    private readonly string? _value;

    private KeyName(string value) => _value = value;

    /// <summary>The name as text.</summary>
    public string Value => _value ?? throw new InvalidOperationException("The default KeyName has no value.");

    /// <summary>Parses a name, throwing <see cref="ArgumentException"/> with the reason when it is invalid.</summary>
    public static KeyName Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var problem = Validate(value);
        return problem is null
            ? new KeyName(value)
            : throw new ArgumentException($"Invalid key name: {problem}", nameof(value));
    }

    /// <summary>Parses a name, returning false when it is invalid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out KeyName name)
    {
        if (value is not null && Validate(value) is null)
        {
            name = new KeyName(value);
            return true;
        }

        name = default;
        return false;
    }

    /// <summary>The reason a candidate name is invalid, or null when it is valid.</summary>
    public static string? Validate(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length is 0 or > MaxLength)
        {
            return $"must be 1 to {MaxLength} characters long.";
        }

        // One pass, no allocation: this runs on every decrypt.
        var segmentStart = 0;
        for (var i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || value[i] == '/')
            {
                var segment = value.AsSpan(segmentStart, i - segmentStart);
                if (segment.Length == 0)
                {
                    return "may not have an empty segment (leading, trailing or doubled '/').";
                }

                if (segment is "." or "..")
                {
                    return "may not have a '.' or '..' segment.";
                }

                segmentStart = i + 1;
                continue;
            }

            if (value[i] is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                return "may contain only a-z, 0-9, '-', '_', '.' and '/'.";
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() => _value ?? string.Empty;
}
