using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Rekey.Server.Http;

/// <summary>
/// Describes JSON request bodies for the OpenAPI document. Handlers read their own bodies (to
/// give problem documents for every mistake), so the body type is declared as metadata here
/// rather than inferred, and without routing's content-type matching, which would answer a
/// body sent without a content type (curl's <c>-d</c>) with a bare 415.
/// </summary>
internal static class OpenApiMetadata
{
    /// <summary>The endpoint reads a JSON body of type <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder builder) => builder.WithMetadata(new JsonBody(typeof(T)));

    /// <summary>A handler as a delegate, so the endpoint is described in the OpenAPI document.</summary>
    public static Delegate Handler(Func<HttpContext, Task> handler) => handler;

    /// <summary>Adds the declared request bodies to the document's operations.</summary>
    public static async Task DescribeBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBody>().FirstOrDefault() is not { } body)
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken).ConfigureAwait(false);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
        };
    }

    private sealed record JsonBody(Type Type);
}
