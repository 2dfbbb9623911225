using Microsoft.Extensions.Hosting;

namespace Rekey.Hosting;

/// <summary>Opens the registered <see cref="RekeyConnection"/> when the host starts.</summary>
internal sealed class RekeyStartup(RekeyConnection connection) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => connection.GetServiceAsync().WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
