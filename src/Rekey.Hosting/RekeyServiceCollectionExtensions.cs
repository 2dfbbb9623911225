using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Rekey.Hosting;

/// <summary>Registers Rekey in an application's services: <see cref="IKeyService"/>, in-process or remote.</summary>
public static class RekeyServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IKeyService"/> from a configuration section (usually
    /// <c>Configuration.GetSection("Rekey")</c>; see <see cref="RekeyOptions"/> for its keys).
    /// </summary>
    public static IServiceCollection AddRekey(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return services.AddRekey(options => section.Bind(options));
    }

    /// <summary>
    /// Registers <see cref="IKeyService"/> as <paramref name="configure"/> sets it up. The
    /// settings are checked when the first service is resolved; a host opens the store (or
    /// checks the server settings) when it starts, so a mistake stops the application at once
    /// rather than at its first request.
    /// </summary>
    public static IServiceCollection AddRekey(this IServiceCollection services, Action<RekeyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var options = new RekeyOptions();
            configure(options);
            return new RekeyConnection(options, provider.GetRequiredService<TimeProvider>(), provider.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });

        // Opened by the hosted service at start; a provider used without a host opens it here.
        // The connection owns what it opened, so the service is handed out without the
        // container taking it over (RekeyService disposes once however often it is asked).
        services.AddSingleton(provider => provider.GetRequiredService<RekeyConnection>().GetServiceAsync().GetAwaiter().GetResult());
        services.AddHostedService<RekeyStartup>();
        return services;
    }
}
