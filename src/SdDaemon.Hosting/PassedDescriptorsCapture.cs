using Microsoft.Extensions.Hosting;

namespace SdDaemon.Hosting;

/// <summary>
/// Takes the passed descriptors when the host starts: the host resolves its hosted services before it
/// starts any of them, and this one is registered first, so <see cref="PassedDescriptors"/> exists (the
/// environment cleaned, the descriptors CLOEXEC) before any hosted service of the application runs or
/// is even constructed. Without it they stayed inheritable, and LISTEN_* visible to every child, in an
/// application that never resolves <see cref="ISdDaemonSockets"/>.
/// </summary>
internal sealed class PassedDescriptorsCapture : IHostedService
{
    /// <param name="passed">Asked for only to be made: the host resolves this service before it starts
    /// any, and that takes the descriptors.</param>
    public PassedDescriptorsCapture(PassedDescriptors passed) => ArgumentNullException.ThrowIfNull(passed);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
