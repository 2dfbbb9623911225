namespace Rekey.Server.Access;

/// <summary>How an endpoint's key-name scope is checked against a token's patterns.</summary>
internal enum EndpointScope
{
    /// <summary>No credentials at all (health, the OpenAPI document).</summary>
    Public,

    /// <summary>The key named in the route must match one of the token's patterns.</summary>
    Key,

    /// <summary>Results are filtered to the keys the token's patterns match (listings, audit queries).</summary>
    Filtered,

    /// <summary>The key of the re-wrap job named in the route (<c>{id}</c>) must match one of the token's patterns.</summary>
    Job,

    /// <summary>Server-wide: the token's patterns must include <c>*</c> (token management).</summary>
    Global,
}
