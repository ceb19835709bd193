using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Varlink;

namespace SdDaemon.Hosting.Varlink;

/// <summary>
/// Runs the host's Varlink server: io.systemd.service and the application's interfaces (every
/// <see cref="VarlinkInterface"/> in the container) on the socket the manager passed as
/// <c>varlink</c>, or on one bound in the runtime directory and linked in the registry (V-9).
/// Started before the other hosted services' work, so that a reload or log level change works
/// from the first moment; stopped last.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class VarlinkHostedService : IHostedService, IAsyncDisposable
{
    private readonly SdDaemonVarlinkOptions _options;
    private readonly ISdDaemonSockets _sockets;
    private readonly IEnumerable<VarlinkInterface> _interfaces;
    private readonly VarlinkInterface _service;
    private readonly ILogger _logger;
    private readonly List<string> _links = [];
    private VarlinkServer? _server;
    private string? _boundPath;

    public VarlinkHostedService(
        IOptions<SdDaemonVarlinkOptions> options,
        ISdDaemonSockets sockets,
        IEnumerable<VarlinkInterface> interfaces,
        ServiceReloader reloader,
        LogLevelOverride logLevel,
        IOptionsMonitor<LoggerFilterOptions> filters,
        ILogger<VarlinkHostedService> logger)
    {
        _options = options.Value;
        _sockets = sockets;
        _interfaces = interfaces;
        _logger = logger;
        _service = SystemdServiceInterface.Create(reloader, logLevel, filters, logger);
    }

    /// <summary>The socket's path when this service bound it; null when it was passed or nothing listens.</summary>
    internal string? BoundPath => _boundPath;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new VarlinkServer(_options.Server);
        server.AddInterface(_service);
        var own = new List<string>();
        foreach (VarlinkInterface definition in _interfaces)
        {
            server.AddInterface(definition);
            own.Add(definition.Name);
        }

        server.Error += OnError;
        Socket? listener = _sockets.TakeSocket(VarlinkListener.FileDescriptorName);
        if (listener is null)
        {
            string? path = _options.SocketPath
                ?? (VarlinkListener.RuntimeDirectory is { } directory ? Path.Combine(directory, own.Count > 0 ? own[0] : SystemdServiceInterface.Name) : null);
            if (path is null)
            {
                LogNoSocket(_logger);
                await server.DisposeAsync().ConfigureAwait(false);
                return;
            }

            try
            {
                listener = VarlinkListener.Bind(path);
            }
            catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException or ArgumentException)
            {
                // The service itself can run without its control socket: say why, do not fail the host.
                LogBindFailed(_logger, path, e);
                await server.DisposeAsync().ConfigureAwait(false);
                return;
            }

            _boundPath = path;
            if (_options.Register)
            {
                Register(own, path);
            }
        }

        server.Listen(listener);
        _server = server;
        string where = _boundPath ?? $"the passed socket '{VarlinkListener.FileDescriptorName}'";
        string served = string.Join(", ", server.InterfaceNames);
        LogListening(_logger, where, served);
    }

    private void Register(List<string> names, string path)
    {
        if (names.Count == 0)
        {
            return;
        }

        if (VarlinkListener.RegistryDirectory is not { } registry)
        {
            LogNotRegistered(_logger, "neither root nor XDG_RUNTIME_DIR", "");
            return;
        }

        foreach (string name in names)
        {
            try
            {
                _links.Add(VarlinkListener.Register(name, path, registry));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The service runs on; clients can still use the socket's own path.
                LogNotRegistered(_logger, registry, e.Message);
            }
        }
    }

    private void OnError(object? sender, VarlinkServerErrorEventArgs e)
    {
        if (e.Kind == VarlinkServerErrorKind.MethodFailed)
        {
            LogMethodFailed(_logger, e.Method ?? "", e.Exception);
        }
        else
        {
            LogClientError(_logger, e.Kind, e.Exception.Message);
        }
    }

    /// <summary>Stops the server; a method that ignores its cancellation is left behind once the host's
    /// shutdown timeout cancels <paramref name="cancellationToken"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await DisposeAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        VarlinkServer? server = Interlocked.Exchange(ref _server, null);
        if (server is null)
        {
            return;
        }

        foreach (string link in _links)
        {
            VarlinkListener.Unregister(link, _boundPath!);
        }

        _links.Clear();
        await server.DisposeAsync().ConfigureAwait(false);
        if (_boundPath is not null)
        {
            try
            {
                File.Delete(_boundPath);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Varlink: listening on {Socket} ({Interfaces})")]
    private static partial void LogListening(ILogger logger, string socket, string interfaces);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Varlink: no socket named 'varlink' was passed and there is no RUNTIME_DIRECTORY or SocketPath to bind one in; not serving")]
    private static partial void LogNoSocket(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Varlink: cannot listen on {Path}; not serving")]
    private static partial void LogBindFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Varlink: not registered in {Registry}: {Reason}")]
    private static partial void LogNotRegistered(ILogger logger, string registry, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Varlink: connection closed ({Kind}): {Reason}")]
    private static partial void LogClientError(ILogger logger, VarlinkServerErrorKind kind, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Varlink: {Method} failed")]
    private static partial void LogMethodFailed(ILogger logger, string method, Exception exception);
}
