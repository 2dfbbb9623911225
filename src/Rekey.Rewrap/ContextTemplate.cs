using System.Globalization;
using Rekey.Envelope;
using Rekey.Errors;

namespace Rekey.Rewrap;

/// <summary>A job's context template, checked once and then applied to each record's id.</summary>
internal sealed class ContextTemplate
{
    private const string Placeholder = "{id}";
    private readonly string _text;
    private readonly IReadOnlyList<(string Name, string Value)>? _pairs;

    private ContextTemplate(string text, IReadOnlyList<(string Name, string Value)>? pairs)
    {
        _text = text;
        _pairs = pairs;
    }

    /// <summary>Checks <paramref name="template"/> in <paramref name="form"/>.</summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> when it cannot make a context.</exception>
    public static ContextTemplate Parse(string template, ContextForm form)
    {
        ArgumentNullException.ThrowIfNull(template);
        IReadOnlyList<(string Name, string Value)>? pairs = null;
        if (form == ContextForm.Pairs)
        {
            pairs = template.Split(';').Select(part =>
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                return equals > 0
                    ? (part[..equals], part[(equals + 1)..])
                    : throw Invalid($"'{part}' is not a name=value pair (pairs are separated by ';').");
            }).ToList();
            if (pairs.Any(p => p.Name.Contains(Placeholder, StringComparison.Ordinal)))
            {
                throw Invalid("{id} may stand only in a value.");
            }
        }

        var parsed = new ContextTemplate(template, pairs);
        try
        {
            parsed.For(0);
        }
        catch (ArgumentException e)
        {
            throw Invalid(e.Message);
        }

        return parsed;
    }

    /// <summary>The context of the record with <paramref name="id"/>.</summary>
    public EncryptionContext For(object id)
    {
        var text = Convert.ToString(id, CultureInfo.InvariantCulture) ?? string.Empty;
        return _pairs is null
            ? EncryptionContext.From(_text.Replace(Placeholder, text, StringComparison.Ordinal))
            : EncryptionContext.FromPairs(_pairs.Select(p => new KeyValuePair<string, string>(p.Name, p.Value.Replace(Placeholder, text, StringComparison.Ordinal))));
    }

    private static RekeyException Invalid(string why) => new(RekeyErrorCode.InvalidRequest, "The context template is not usable: " + why);
}
