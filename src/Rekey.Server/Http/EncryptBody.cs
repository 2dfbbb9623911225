using System.Text.Json;
using Rekey.Errors;

namespace Rekey.Server.Http;

/// <summary>
/// <c>/v1/encrypt</c>'s body (an <see cref="Api.EncryptRequest"/>), read by the same rules as
/// <see cref="JsonBody"/> (a JSON object; unknown fields, repeated fields and values of the wrong
/// type refused before anything runs) but without a string per plaintext: each item's bytes are
/// decoded straight from the request's UTF-8 when it is encrypted, so a batch's garbage is little
/// more than its ciphertexts.
/// </summary>
internal sealed class EncryptBody : IDisposable
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    private readonly JsonDocument _document;

    private EncryptBody(JsonDocument document, Item? single, IReadOnlyList<Item?>? items)
    {
        _document = document;
        Single = single;
        Items = items;
    }

    /// <summary>The single form's fields, or null when the body gives none.</summary>
    public Item? Single { get; }

    /// <summary>The batch form's items (a null entry for a JSON null), or null when the body has no <c>items</c>.</summary>
    public IReadOnlyList<Item?>? Items { get; }

    /// <summary>Reads and checks the body.</summary>
    public static async ValueTask<EncryptBody> ReadAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            // The parser's message may quote the body; say what kind of mistake it is, never the value.
            throw Invalid("The body has malformed JSON or a value of the wrong type.");
        }

        try
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
            {
                throw Invalid("The body must be a JSON object, not null.");
            }

            CheckObject(root, "$", allowItems: true);
            Item? single = null;
            if (IsGiven(root, "plaintext") || IsGiven(root, "context"))
            {
                single = new Item(root);
            }

            List<Item?>? items = null;
            if (root.TryGetProperty("items", out var array) && array.ValueKind != JsonValueKind.Null)
            {
                items = new List<Item?>(array.GetArrayLength());
                var index = 0;
                foreach (var element in array.EnumerateArray())
                {
                    if (element.ValueKind == JsonValueKind.Null)
                    {
                        items.Add(null);
                    }
                    else
                    {
                        CheckObject(element, $"$.items[{index}]", allowItems: false);
                        items.Add(new Item(element));
                    }

                    index++;
                }
            }

            return new EncryptBody(document, single, items);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _document.Dispose();

    // Only the request's own fields, each once, each of its type (or null).
    private static void CheckObject(JsonElement element, string path, bool allowItems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"The body has malformed JSON or a value of the wrong type at {path}.");
        }

        bool plaintext = false, context = false, items = false;
        foreach (var property in element.EnumerateObject())
        {
            ref var seen = ref plaintext;
            var expected = JsonValueKind.String;
            if (property.NameEquals("plaintext"u8))
            {
                seen = ref plaintext;
            }
            else if (property.NameEquals("context"u8))
            {
                seen = ref context;
            }
            else if (allowItems && property.NameEquals("items"u8))
            {
                seen = ref items;
                expected = JsonValueKind.Array;
            }
            else
            {
                throw Invalid($"The body has an unknown field at {path}.");
            }

            if (seen)
            {
                throw Invalid($"The body has a field given twice at {path}.");
            }

            seen = true;
            if (property.Value.ValueKind != expected && property.Value.ValueKind != JsonValueKind.Null)
            {
                throw Invalid($"The body has malformed JSON or a value of the wrong type at {path}.{property.Name}.");
            }
        }
    }

    private static bool IsGiven(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);

    /// <summary>One plaintext and its context, as given.</summary>
    internal sealed class Item(JsonElement element)
    {
        /// <summary>The plaintext's bytes; <c>InvalidRequest</c> when missing or not base64.</summary>
        public byte[] Plaintext() =>
            !element.TryGetProperty("plaintext", out var value) || value.ValueKind == JsonValueKind.Null
                ? throw Invalid("'plaintext' is required.")
                : value.TryGetBytesFromBase64(out var bytes) ? bytes : throw Invalid("'plaintext' is not valid base64.");

        /// <summary>The context text, or null when missing.</summary>
        public string? Context => element.TryGetProperty("context", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
