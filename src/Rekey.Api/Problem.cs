using Rekey.Errors;

namespace Rekey.Api;

/// <summary>
/// An <c>application/problem+json</c> document (RFC 9457) with Rekey's stable <c>code</c> and
/// the request id to quote when asking about it. Never carries key material or plaintext.
/// </summary>
/// <param name="Type">A URN naming the code.</param>
/// <param name="Title">The code's name.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Detail">What went wrong, for a human.</param>
/// <param name="Code">The stable error code (a <see cref="RekeyErrorCode"/> name).</param>
/// <param name="RequestId">The request's id, also in the <c>X-Request-Id</c> header.</param>
public sealed record Problem(string Type, string Title, int Status, string Detail, string Code, string? RequestId)
{
    /// <summary>The media type of problem documents.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>Builds the document for a code.</summary>
    public static Problem For(RekeyErrorCode code, string detail, string? requestId) =>
        new("urn:rekey:error:" + code, code.ToString(), ErrorStatus.For(code), detail, code.ToString(), requestId);
}
