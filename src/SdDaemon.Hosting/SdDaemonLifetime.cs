using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SdDaemon.Hosting;

/// <summary>
/// The host's lifetime under systemd (replaces ConsoleLifetime): READY=1 once the host has started,
/// STOPPING=1 when it stops, SIGTERM/SIGINT stop it (and the process exits 0), SIGHUP reloads,
/// and slow starts and stops extend the manager's timeout.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class SdDaemonLifetime : IHostLifetime, IDisposable
{
    private readonly IHostApplicationLifetime _application;
    private readonly SdDaemonHostOptions _options;
    private readonly ISdDaemonNotifier _notifier;
    private readonly ServiceReloader _reloader;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _registrations = [];
    private TimeoutExtender? _extender;
    private int _stopping;

    public SdDaemonLifetime(IHostApplicationLifetime application, IOptions<SdDaemonHostOptions> options, ISdDaemonNotifier notifier, ServiceReloader reloader, ILogger<SdDaemonLifetime> logger)
    {
        _application = application;
        _options = options.Value;
        _notifier = notifier;
        _reloader = reloader;
        _logger = logger;
    }

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _extender = TimeoutExtender.Start(_notifier, _options);
        _registrations.Add(_application.ApplicationStarted.Register(OnStarted));
        _registrations.Add(_application.ApplicationStopping.Register(OnStopping));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnTerminate));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnTerminate));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnTerminate));
        if (_options.ReloadOnSighup)
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // the default action of SIGHUP would end the process
                _ = ReloadAsync(CancellationToken.None);
            }));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>RELOADING=1 + MONOTONIC_USEC, configuration and handlers, READY=1 (spec: Type=notify-reload).</summary>
    internal Task ReloadAsync(CancellationToken cancellationToken) => _reloader.ReloadAsync(cancellationToken);

    private void OnStarted()
    {
        _extender?.Dispose();
        _extender = null;
        NotifyResult result = _notifier.Notify(_options.ReadyStatus is { } status
            ? new Notification(NotifyState.Ready, NotifyState.Status(status))
            : Notification.Ready);
        if (result.IsFailed)
        {
            LogNotifyFailed(_logger, "READY=1", result.ToString());
        }
    }

    private void OnStopping()
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 0)
        {
            _notifier.Notify(Notification.Stopping);
        }

        _extender?.Dispose();
        _extender = TimeoutExtender.Start(_notifier, _options);
    }

    internal void OnTerminate(PosixSignalContext context)
    {
        context.Cancel = true; // stop the host our way; Main returns and the process exits 0
        if (_options.DrainDelay > TimeSpan.Zero && Interlocked.Exchange(ref _stopping, 1) == 0)
        {
            // Lame duck: tell the manager, keep serving a little, then stop.
            _notifier.Notify(new Notification(NotifyState.Stopping, NotifyState.Status("draining")));
            _ = Task.Delay(_options.DrainDelay).ContinueWith(_ => _application.StopApplication(), TaskScheduler.Default);
            return;
        }

        _application.StopApplication();
    }

    public void Dispose()
    {
        _extender?.Dispose();
        foreach (IDisposable registration in _registrations)
        {
            registration.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "sd_notify {State} failed: {Result}")]
    private static partial void LogNotifyFailed(ILogger logger, string state, string result);

    /// <summary>
    /// Sends EXTEND_TIMEOUT_USEC periodically while a start or stop is in progress, up to a bound.
    /// On a thread of its own: start-up is exactly when the thread pool is busiest, and a timer
    /// callback that waits for a pool thread would let the manager's timeout run out.
    /// </summary>
    private sealed class TimeoutExtender : IDisposable
    {
        private readonly ManualResetEventSlim _stop = new();
        private readonly Thread _thread;

        private TimeoutExtender(ISdDaemonNotifier notifier, SdDaemonHostOptions options)
        {
            TimeSpan interval = options.TimeoutExtensionInterval;
            TimeSpan extension = interval * 2;
            long until = Environment.TickCount64 + (long)Math.Min(options.MaxTimeoutExtension.TotalMilliseconds, long.MaxValue / 4);
            _thread = new Thread(() =>
            {
                // Monotonic time: a wall-clock step must not end or prolong the extensions.
                while (!_stop.Wait(interval) && Environment.TickCount64 < until)
                {
                    notifier.ExtendTimeout(extension);
                }
            })
            {
                IsBackground = true,
                Name = "SdDaemon timeout extension",
            };
            _thread.Start();
        }

        public static TimeoutExtender? Start(ISdDaemonNotifier notifier, SdDaemonHostOptions options) =>
            notifier.IsUnderManager && options.MaxTimeoutExtension > TimeSpan.Zero && options.TimeoutExtensionInterval > TimeSpan.Zero
                ? new TimeoutExtender(notifier, options)
                : null;

        public void Dispose()
        {
            _stop.Set();
            if (Thread.CurrentThread != _thread)
            {
                _thread.Join();
            }

            _stop.Dispose();
        }
    }
}
