using System.Text.Encodings.Web;
using System.Text.Json;

namespace Rekey.Server.Transit;

/// <summary>
/// Vault's response envelope (<c>request_id</c>, <c>lease_id</c>, <c>renewable</c>,
/// <c>lease_duration</c>, <c>data</c>, <c>wrap_info</c>, <c>warnings</c>, <c>auth</c>), written
/// straight to UTF-8 in pooled memory (cleared afterwards: a decrypt's answer holds plaintext) and sent with a Content-Length once the status is known, so a
/// handler that fails half-way has sent nothing. The request id is the one in
/// <c>X-Request-Id</c> and the audit log.
/// </summary>
internal sealed class VaultResponse : IDisposable
{
    // Base64 and key names need no escaping beyond JSON's own; '+' stays '+'.
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly HttpContext _context;
    private readonly Http.PooledBufferWriter _buffer;

    private VaultResponse(HttpContext context, int sizeHint)
    {
        _context = context;
        _buffer = new Http.PooledBufferWriter(sizeHint);
        Data = new Utf8JsonWriter(_buffer, WriterOptions);
        Data.WriteStartObject();
        Data.WriteString("request_id"u8, context.TraceIdentifier);
        Data.WriteString("lease_id"u8, string.Empty);
        Data.WriteBoolean("renewable"u8, false);
        Data.WriteNumber("lease_duration"u8, 0);
        Data.WriteStartObject("data"u8);
    }

    /// <summary>The writer, positioned inside <c>data</c>: write its members.</summary>
    public Utf8JsonWriter Data { get; }

    /// <summary>Starts a response; write <c>data</c>'s members to <see cref="Data"/>, then <see cref="FinishAsync"/>.</summary>
    public static VaultResponse Start(HttpContext context, int sizeHint = 512) => new(context, sizeHint);

    /// <summary>Writes a whole response whose <c>data</c> members <paramref name="data"/> writes.</summary>
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> data, IReadOnlyList<string>? warnings = null, int status = StatusCodes.Status200OK)
    {
        using var response = Start(context);
        data(response.Data);
        await response.FinishAsync(warnings, status).ConfigureAwait(false);
    }

    /// <summary>Vault's bare 204 for a change that returns nothing.</summary>
    public static void NoContent(HttpContext context) => context.Response.StatusCode = StatusCodes.Status204NoContent;

    /// <summary>Closes <c>data</c>, adds the warnings, and sends the response with <paramref name="status"/>.</summary>
    public Task FinishAsync(IReadOnlyList<string>? warnings, int status = StatusCodes.Status200OK)
    {
        var json = Data;
        json.WriteEndObject();
        json.WriteNull("wrap_info"u8);
        if (warnings is { Count: > 0 })
        {
            json.WriteStartArray("warnings"u8);
            foreach (var warning in warnings)
            {
                json.WriteStringValue(warning);
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteNull("warnings"u8);
        }

        json.WriteNull("auth"u8);
        json.WriteEndObject();
        json.Flush();
        _context.Response.StatusCode = status;
        _context.Response.ContentType = "application/json";
        return _buffer.SendAsync(_context);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Data.Dispose();
        _buffer.Dispose();
    }
}
