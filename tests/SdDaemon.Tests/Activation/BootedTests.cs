using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Activation;

/// <summary>Spec B-1: sd_booted's three answers.</summary>
public sealed class BootedTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdd-booted-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void B1_an_existing_directory_is_yes()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "system"));
        Assert.Equal(CheckResult.Yes, ServiceManager.CheckBooted(Path.Combine(_dir, "system") + "/"));
    }

    [Fact]
    public void B1_a_missing_directory_is_no()
    {
        Assert.Equal(CheckResult.No, ServiceManager.CheckBooted(Path.Combine(_dir, "system") + "/"));
    }

    [Fact]
    public void B1_a_regular_file_in_its_place_is_the_ENOTDIR_error()
    {
        File.WriteAllText(Path.Combine(_dir, "system"), "");
        Assert.Equal(CheckResult.Failure(20), ServiceManager.CheckBooted(Path.Combine(_dir, "system") + "/"));
    }

    [Fact]
    public void B1_a_symlink_to_a_directory_is_followed_because_of_the_trailing_slash()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "real"));
        File.CreateSymbolicLink(Path.Combine(_dir, "system"), Path.Combine(_dir, "real"));
        Assert.Equal(CheckResult.Yes, ServiceManager.CheckBooted(Path.Combine(_dir, "system") + "/"));
    }

    [Fact]
    public void B1_Booted_agrees_with_the_real_directory()
    {
        bool exists = Directory.Exists("/run/systemd/system");
        Assert.Equal(exists, ServiceManager.Booted);
        Assert.Equal(exists ? CheckResult.Yes : CheckResult.No, ServiceManager.CheckBooted());
    }

    [LibsystemdFact]
    public void B1_libsystemds_sd_booted_gives_the_same_answer_here()
    {
        var info = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3",
            ["-c", "import ctypes; print(ctypes.CDLL('libsystemd.so.0').sd_booted())"]) { RedirectStandardOutput = true };
        using var child = System.Diagnostics.Process.Start(info)!;
        string theirs = child.StandardOutput.ReadToEnd().Trim();
        child.WaitForExit();
        CheckResult ours = ServiceManager.CheckBooted();
        Assert.Equal(theirs, ours.Outcome switch { CheckOutcome.Yes => "1", CheckOutcome.No => "0", _ => (-ours.Errno).ToString() });
    }
}
