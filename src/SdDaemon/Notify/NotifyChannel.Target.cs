using SdDaemon.Interop;
using SdDaemon.Notify;

namespace SdDaemon;

public sealed partial class NotifyChannel
{
    /// <summary>A parsed NOTIFY_SOCKET value and, for AF_UNIX, its cached connected socket.</summary>
    private sealed class Target : IDisposable
    {
        /// <param name="text">The NOTIFY_SOCKET value.</param>
        /// <param name="pathRecheckInterval">How often the cached socket checks for a new socket bound at its path (spec N-15).</param>
        public Target(string text, TimeSpan pathRecheckInterval)
        {
            Text = text;
            ParseErrno = NotifySocketAddress.TryParse(text, out NotifySocketAddress? address, out string? detail);
            Address = address;
            ParseDetail = detail;
            Socket = address?.Family == Libc.AF_UNIX ? new ConnectedDatagramSocket(address.SockAddr, pathRecheckInterval) : null;
        }

        public string Text { get; }

        public NotifySocketAddress? Address { get; }

        public int ParseErrno { get; }

        public string? ParseDetail { get; }

        /// <summary>The shared connected socket of an AF_UNIX address; null for the others (a socket per message).</summary>
        public ConnectedDatagramSocket? Socket { get; }

        private volatile bool _disposed;

        public bool IsDisposed => _disposed;

        public void Dispose()
        {
            _disposed = true;
            Socket?.Dispose();
        }
    }
}
