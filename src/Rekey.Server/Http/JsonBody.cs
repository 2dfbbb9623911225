using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Rekey.Errors;

namespace Rekey.Server.Http;

/// <summary>
/// Reads request bodies: JSON only, within the size limit, unknown fields refused. Every mistake
/// becomes <c>InvalidRequest</c> (or <c>PayloadTooLarge</c>) before anything is changed.
/// </summary>
internal static class JsonBody
{
    /// <summary>Reads the body as <typeparamref name="T"/>; an empty body is refused.</summary>
    public static async ValueTask<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        // Any content type is read as JSON: curl's -d sends form encoding by default, and a
        // bearer token (never sent by browsers on their own) already rules out cross-site posts.
        var request = context.Request;
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, context.RequestAborted).ConfigureAwait(false)
                ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "The body must be a JSON object, not null.");
        }
        catch (JsonException e)
        {
            // The serializer's message names the path and the expected type, never the value.
            var where = e.Path is { Length: > 0 } path ? $" at {path}" : string.Empty;
            var what = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "an unknown field"
                : e.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase) ? "a field given twice"
                : "malformed JSON or a value of the wrong type";
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The body has {what}{where}.");
        }
    }

    /// <summary>Reads an optional body: an absent or empty one gives <paramref name="empty"/>.</summary>
    public static ValueTask<T> ReadOptionalAsync<T>(HttpContext context, JsonTypeInfo<T> type, T empty)
        where T : class =>
        context.Request.ContentLength == 0 || (context.Request.ContentLength is null && !context.Request.Headers.ContainsKey("Transfer-Encoding"))
            ? ValueTask.FromResult(empty)
            : ReadAsync(context, type);

    /// <summary>Writes <paramref name="value"/> as the JSON response.</summary>
    public static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        // Serialized first so the response carries a Content-Length rather than chunked encoding,
        // into pooled memory that is cleared afterwards (an answer may hold plaintext).
        using var buffer = new PooledBufferWriter();
        using (var json = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(json, value, type);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await buffer.SendAsync(context).ConfigureAwait(false);
    }

    /// <summary>A required field, or <c>InvalidRequest</c> naming it.</summary>
    public static T Required<T>(T? value, string field)
        where T : struct =>
        value ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{field}' is required.");

    /// <summary>A required string field, or <c>InvalidRequest</c> naming it.</summary>
    /// <summary>A base64 field's bytes; <c>InvalidRequest</c> naming the field when it is not base64.</summary>
    public static byte[] Base64(string text, string field)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{field}' is not valid base64.");
        }
    }

    public static string Required(string? value, string field) =>
        value ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{field}' is required.");
}
