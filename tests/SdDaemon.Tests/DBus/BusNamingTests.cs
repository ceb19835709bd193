using SdDaemon.DBus;
using Xunit;

namespace SdDaemon.Tests.DBus;

/// <summary>DB-1: the D-Bus specification's naming rules, checked before anything is sent.</summary>
public sealed class BusNamingTests
{
    [Theory]
    [InlineData("org.sddaemon.Example")]
    [InlineData("a.b")]
    [InlineData("org.sddaemon.with-hyphen")]
    [InlineData("_a._1")]
    public void Valid_well_known_names(string name) => Assert.True(BusNaming.IsValidWellKnownName(name));

    [Theory]
    [InlineData("")]
    [InlineData("nodots")]
    [InlineData(":1.42")]
    [InlineData("org..example")]
    [InlineData(".org.example")]
    [InlineData("org.example.")]
    [InlineData("org.1example")]
    [InlineData("org.ex ample")]
    [InlineData("org.exämple")]
    [InlineData("org/example")]
    public void Invalid_well_known_names(string name)
    {
        Assert.False(BusNaming.IsValidWellKnownName(name));
        ArgumentException e = Assert.Throws<ArgumentException>(() => BusNaming.ThrowIfInvalidWellKnownName(name));
        Assert.Contains("not a valid well-known bus name", e.Message);
    }

    [Fact]
    public void A_name_is_at_most_255_characters()
    {
        string at = "a." + new string('b', 253);
        Assert.True(BusNaming.IsValidWellKnownName(at));
        Assert.False(BusNaming.IsValidWellKnownName(at + "c"));
    }

    [Theory]
    [InlineData("/", true)]
    [InlineData("/org/sddaemon/Example", true)]
    [InlineData("/a_1/B", true)]
    [InlineData("", false)]
    [InlineData("org/sddaemon", false)]
    [InlineData("/org/", false)]
    [InlineData("/org//sddaemon", false)]
    [InlineData("/org/sd-daemon", false)]
    [InlineData("/org/sd.daemon", false)]
    public void Object_paths(string path, bool valid)
    {
        Assert.Equal(valid, BusNaming.IsValidObjectPath(path));
        if (!valid)
        {
            Assert.Throws<ArgumentException>(() => BusNaming.ThrowIfInvalidObjectPath(path));
        }
    }

    [Theory]
    [InlineData("org.sddaemon.Example1", true)]
    [InlineData("org.sddaemon.with-hyphen", false)]
    [InlineData("single", false)]
    public void Interface_names(string name, bool valid) => Assert.Equal(valid, BusNaming.IsValidInterfaceName(name));

    [Theory]
    [InlineData("Echo", true)]
    [InlineData("_x1", true)]
    [InlineData("1x", false)]
    [InlineData("a.b", false)]
    [InlineData("a-b", false)]
    [InlineData("", false)]
    public void Member_names(string name, bool valid) => Assert.Equal(valid, BusNaming.IsValidMemberName(name));
}

/// <summary>DB-2: the bus addresses as libsystemd resolves them.</summary>
public sealed class BusAddressTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void The_system_bus_defaults_to_the_well_known_socket() =>
        Assert.Equal("unix:path=/run/dbus/system_bus_socket", BusAddress.Resolve(BusKind.System, Env()));

    [Fact]
    public void DBUS_SYSTEM_BUS_ADDRESS_overrides_it() =>
        Assert.Equal("unix:path=/x", BusAddress.Resolve(BusKind.System, Env(("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/x"))));

    [Fact]
    public void The_user_bus_is_DBUS_SESSION_BUS_ADDRESS_first() =>
        Assert.Equal("unix:abstract=s", BusAddress.Resolve(BusKind.User, Env(("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=s"), ("XDG_RUNTIME_DIR", "/run/user/1000"))));

    [Fact]
    public void Then_XDG_RUNTIME_DIR_bus_escaped_as_sd_bus_does() =>
        Assert.Equal("unix:path=/run/user/1%20000%3dx/bus", BusAddress.Resolve(BusKind.User, Env(("XDG_RUNTIME_DIR", "/run/user/1 000=x"))));

    [Fact]
    public void Without_either_or_with_a_relative_runtime_directory_there_is_no_user_bus()
    {
        Assert.Null(BusAddress.Resolve(BusKind.User, Env()));
        Assert.Null(BusAddress.Resolve(BusKind.User, Env(("XDG_RUNTIME_DIR", "run/user/0"))));
        Assert.Null(BusAddress.Resolve(BusKind.User, Env(("DBUS_SESSION_BUS_ADDRESS", ""))));
    }

    [Fact]
    public async Task Connecting_to_the_user_bus_without_an_address_is_a_clear_BusUnavailableException()
    {
        BusUnavailableException e = await Assert.ThrowsAsync<BusUnavailableException>(() => DaemonBus.ConnectAsync(BusKind.User, Env(), null, CancellationToken.None));
        Assert.Null(e.Address);
        Assert.Equal("the user bus has no address: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set", e.Message);
    }
}
