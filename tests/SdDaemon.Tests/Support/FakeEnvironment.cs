using SdDaemon.Environ;

namespace SdDaemon.Tests.Support;

/// <summary>An environment of its own, so tests never touch the process environment.</summary>
internal sealed class FakeEnvironment : IEnvironmentSource
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public FakeEnvironment(params (string Name, string Value)[] values)
    {
        foreach ((string name, string value) in values)
        {
            _values[name] = value;
        }
    }

    public List<string> Removed { get; } = [];

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public void Remove(string name)
    {
        Removed.Add(name);
        _values.Remove(name);
    }

    public void Set(string name, string value) => _values[name] = value;

    public IReadOnlyDictionary<string, string> Values => _values;
}
