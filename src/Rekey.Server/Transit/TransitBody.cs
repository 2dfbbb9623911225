using System.Globalization;
using System.Text.Json;
using Rekey.Errors;

namespace Rekey.Server.Transit;

/// <summary>
/// A Transit request body, read as Vault reads one: a JSON object whose fields are looked up by
/// name, with numbers and booleans also accepted as strings, and unknown fields ignored with a
/// warning (clients such as node-vault send extra fields, the key's name among them). An empty
/// body is an empty object. Malformed JSON, a non-object or a value of the wrong type is a 400.
/// </summary>
internal sealed class TransitBody : IDisposable
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    private readonly JsonDocument? _document;

    private TransitBody(JsonDocument? document) => _document = document;

    /// <summary>The body's object, or <c>default</c> (no fields) for an empty body.</summary>
    public JsonElement Root => _document?.RootElement ?? default;

    /// <summary>Reads the request body.</summary>
    public static async ValueTask<TransitBody> ReadAsync(HttpContext context)
    {
        if (context.Request.ContentLength == 0 || (context.Request.ContentLength is null && !context.Request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return new TransitBody(null);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            // The parser's message may quote the body; Vault's clients only need to know it is not JSON.
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "failed to parse JSON input: the body is not valid JSON");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "failed to parse JSON input: the body must be a JSON object");
        }

        return new TransitBody(document);
    }

    /// <summary>Whether the body names <paramref name="field"/> with a value other than null.</summary>
    public bool Has(string field) => Has(Root, field);

    /// <summary>A string field, or null when absent or null.</summary>
    public string? String(string field) => String(Root, field);

    /// <summary>An integer field (a JSON number or a numeric string), or null when absent or null.</summary>
    public long? Integer(string field) => Integer(Root, field);

    /// <summary>A boolean field (true/false, or their text), or null when absent or null.</summary>
    public bool? Boolean(string field) => Boolean(Root, field);

    /// <summary>A warning naming the fields this endpoint ignores, or null when there are none.</summary>
    public string? IgnoredFields(IReadOnlySet<string> known)
    {
        if (Root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var unknown = Root.EnumerateObject().Select(p => p.Name).Where(n => !known.Contains(n)).Order(StringComparer.Ordinal).ToList();
        return unknown.Count == 0 ? null : "Endpoint ignored these unrecognized parameters: [" + string.Join(' ', unknown) + "]";
    }

    /// <inheritdoc cref="Has(string)"/>
    public static bool Has(JsonElement item, string field) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null;

    /// <inheritdoc cref="String(string)"/>
    public static string? String(JsonElement item, string field)
    {
        if (!TryGet(item, field, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(field, "a string");
    }

    /// <inheritdoc cref="Integer(string)"/>
    public static long? Integer(JsonElement item, string field)
    {
        if (!TryGet(item, field, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out var n) => n,
            JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
            _ => throw WrongType(field, "an integer"),
        };
    }

    /// <inheritdoc cref="Boolean(string)"/>
    public static bool? Boolean(JsonElement item, string field)
    {
        if (!TryGet(item, field, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var b) => b,
            JsonValueKind.String when value.GetString() is "1" or "0" => value.GetString() == "1",
            _ => throw WrongType(field, "a boolean"),
        };
    }

    /// <inheritdoc />
    public void Dispose() => _document?.Dispose();

    private static bool TryGet(JsonElement item, string field, out JsonElement value)
    {
        value = default;
        return item.ValueKind == JsonValueKind.Object && item.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private static RekeyException WrongType(string field, string expected) =>
        new(RekeyErrorCode.InvalidRequest, $"'{field}' must be {expected}");
}
