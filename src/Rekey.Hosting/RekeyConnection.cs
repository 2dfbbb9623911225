using Rekey.Client;
using Rekey.Errors;

namespace Rekey.Hosting;

/// <summary>
/// What <c>AddRekey</c> registered, opened once: a <see cref="RekeyClient"/> for a server, or a
/// <see cref="RekeyStack"/> in this process. Owned by the service provider, which disposes it.
/// </summary>
public sealed class RekeyConnection : IAsyncDisposable, IDisposable
{
    private readonly RekeyOptions _options;
    private readonly TimeProvider _time;
    private readonly Microsoft.Extensions.Logging.ILoggerFactory? _loggerFactory;
    private readonly Lazy<Task<IKeyService>> _open;
    private RekeyStack? _stack;
    private RekeyClient? _client;

    /// <summary>Prepares a connection; nothing is opened until <see cref="GetServiceAsync"/> (the hosted service calls it at start).</summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> naming every problem with <paramref name="options"/>.</exception>
    public RekeyConnection(RekeyOptions options, TimeProvider? time = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, string.Join(" ", problems));
        }

        _options = options;
        _time = time ?? TimeProvider.System;
        _loggerFactory = loggerFactory;
        _open = new Lazy<Task<IKeyService>>(OpenAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The service, opened on first call (in-process: the root key is read and the store's schema brought up to date).</summary>
    public Task<IKeyService> GetServiceAsync() => _open.Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync().ConfigureAwait(false);
        }

        _client?.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task<IKeyService> OpenAsync()
    {
        if (_options.IsRemote)
        {
            _client = new RekeyClient(_options.Server, null, _time);
            return _client;
        }

        _stack = await RekeyStack.OpenAsync(_options, _time, loggerFactory: _loggerFactory).ConfigureAwait(false);
        return _stack.Service;
    }
}
