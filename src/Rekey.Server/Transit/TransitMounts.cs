using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Rekey.Server.Transit;

/// <summary>
/// The mount names the Transit surface answers under (<c>/v1/&lt;mount&gt;/...</c>): one set of
/// endpoints whose first segment is a route parameter this class constrains, so each operation
/// is one endpoint with one name (one rule in the policy table) whatever the mount.
/// </summary>
internal sealed partial class TransitMounts : IRouteConstraint
{
    /// <summary>Vault's default mount name for the Transit engine.</summary>
    public const string Default = "transit";

    // The first path segments of Rekey's own /v1 API: a mount there would be shadowed by it.
    private static readonly FrozenSet<string> Reserved = FrozenSet.ToFrozenSet(
    [
        "approvals", "audit", "datakey", "decrypt", "encrypt", "files", "import", "import-token", "inventory", "jobs", "keys",
        "policies", "report", "rewrap", "rotate", "rotations", "sources", "sys", "tokens", "auth", "identity", "metrics", "openapi",
    ], StringComparer.Ordinal);

    private readonly FrozenSet<string> _names;

    /// <summary>The methods Vault takes for a write: POST, and PUT as its alias.</summary>
    public static string[] Writes { get; } = [HttpMethods.Post, HttpMethods.Put];

    public TransitMounts(IEnumerable<string> names) => _names = names.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The mount names, in order.</summary>
    public IReadOnlyCollection<string> Names => _names.Items;

    /// <summary>Maps a Vault-surface endpoint named <paramref name="name"/> at <paramref name="template"/> under every mount, for <paramref name="methods"/>.</summary>
    public void Map(IEndpointRouteBuilder app, string name, string template, RequestDelegate handler, params string[] methods) =>
        app.Map(RoutePatternFactory.Parse("/v1/{mount}" + template, defaults: null, parameterPolicies: new RouteValueDictionary { ["mount"] = this }), handler)
            .WithMetadata(new HttpMethodMetadata(methods))
            .WithName(name)
            .WithMetadata(Surfaces.VaultSurface.Instance);

    /// <summary>The mount a request path is under, or null.</summary>
    public string? MountOf(PathString path)
    {
        var value = path.Value;
        if (value is null || !value.StartsWith("/v1/", StringComparison.Ordinal))
        {
            return null;
        }

        var end = value.IndexOf('/', 4);
        var mount = end < 0 ? value[4..] : value[4..end];
        return _names.Contains(mount) ? mount : null;
    }

    /// <summary>Whether <paramref name="name"/> is one of the mounts.</summary>
    public bool Contains(string name) => _names.Contains(name);

    /// <summary>What is wrong with a mount name, or null when it may be used.</summary>
    public static string? Problem(string name) =>
        string.IsNullOrEmpty(name) || !MountName().IsMatch(name) ? $"transit_mounts: '{name}' is not a mount name (lowercase letters, digits, '-' and '_', up to 64)."
        : Reserved.Contains(name) ? $"transit_mounts: '{name}' is a path of Rekey's own /v1 API; choose another name."
        : null;

    /// <inheritdoc />
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
        values.TryGetValue(routeKey, out var value) && value is string name && _names.Contains(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex MountName();
}
