using Microsoft.Extensions.DependencyInjection;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Access;

namespace Rekey.Server.Http;

/// <summary>Helpers handlers use to read what the access middleware established.</summary>
internal static class HttpContextExtensions
{
    /// <summary>The request's caller (set by the access middleware before any handler runs).</summary>
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("The access middleware did not run.");

    /// <summary>The key named by the route's <c>name</c> value (as parsed by the access check, when it ran one).</summary>
    public static KeyName RouteKey(this HttpContext context) =>
        context.Features.Get<Caller>()?.Key is { } parsed ? parsed
        : TryRouteKey(context, out var name, out var problem) ? name
        : throw new RekeyException(RekeyErrorCode.InvalidRequest, problem!);

    /// <summary>Reads the route's key name; false with a message when it is missing or invalid.</summary>
    public static bool TryRouteKey(HttpContext context, out KeyName name, out string? problem)
    {
        name = default;
        problem = null;
        if (context.Request.RouteValues["name"] is not string text)
        {
            problem = "The key name is missing from the path.";
            return false;
        }

        if (!KeyName.TryParse(text, out name))
        {
            problem = $"'{text}' is not a valid key name: {KeyName.Validate(text)}";
            return false;
        }

        return true;
    }

    /// <summary>The server's one <see cref="RekeyService"/>.</summary>
    public static RekeyService Service(this HttpContext context) => context.RequestServices.GetRequiredService<RekeyService>();

    /// <summary>The client's address as recorded in audit events.</summary>
    public static string? ClientAddress(this HttpContext context) => context.Connection.RemoteIpAddress?.ToString();
}
