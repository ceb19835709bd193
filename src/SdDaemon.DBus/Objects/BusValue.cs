using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// The .NET types an exported member may use, and their D-Bus types: string (s), bool (b),
/// byte (y), short (n), ushort (q), int (i), uint (u), long (x), ulong (t), double (d).
/// The one place their wire format is chosen (DB-5); typeof comparisons, no reflection.
/// </summary>
internal static class BusValue
{
    public static string Signature<T>() =>
        typeof(T) == typeof(string) ? "s"
        : typeof(T) == typeof(bool) ? "b"
        : typeof(T) == typeof(byte) ? "y"
        : typeof(T) == typeof(short) ? "n"
        : typeof(T) == typeof(ushort) ? "q"
        : typeof(T) == typeof(int) ? "i"
        : typeof(T) == typeof(uint) ? "u"
        : typeof(T) == typeof(long) ? "x"
        : typeof(T) == typeof(ulong) ? "t"
        : typeof(T) == typeof(double) ? "d"
        : throw new ArgumentException($"{typeof(T)} has no D-Bus type here: use string, bool, byte, short, ushort, int, uint, long, ulong or double");

    public static void Write<T>(ref MessageWriter writer, T value)
    {
        switch (value)
        {
            case string s: writer.WriteString(s); break;
            case bool b: writer.WriteBool(b); break;
            case byte y: writer.WriteByte(y); break;
            case short n: writer.WriteInt16(n); break;
            case ushort q: writer.WriteUInt16(q); break;
            case int i: writer.WriteInt32(i); break;
            case uint u: writer.WriteUInt32(u); break;
            case long x: writer.WriteInt64(x); break;
            case ulong t: writer.WriteUInt64(t); break;
            case double d: writer.WriteDouble(d); break;
            case null: throw new InvalidOperationException("D-Bus has no null: a handler returned null for a string");
            default: throw new ArgumentException($"{typeof(T)} has no D-Bus type here");
        }
    }

    public static T Read<T>(ref Reader reader) =>
        typeof(T) == typeof(string) ? (T)(object)reader.ReadString()
        : typeof(T) == typeof(bool) ? (T)(object)reader.ReadBool()
        : typeof(T) == typeof(byte) ? (T)(object)reader.ReadByte()
        : typeof(T) == typeof(short) ? (T)(object)reader.ReadInt16()
        : typeof(T) == typeof(ushort) ? (T)(object)reader.ReadUInt16()
        : typeof(T) == typeof(int) ? (T)(object)reader.ReadInt32()
        : typeof(T) == typeof(uint) ? (T)(object)reader.ReadUInt32()
        : typeof(T) == typeof(long) ? (T)(object)reader.ReadInt64()
        : typeof(T) == typeof(ulong) ? (T)(object)reader.ReadUInt64()
        : (T)(object)reader.ReadDouble();

    public static VariantValue ToVariant<T>(T value) => value switch
    {
        string s => s,
        bool b => b,
        byte y => y,
        short n => n,
        ushort q => q,
        int i => i,
        uint u => u,
        long x => x,
        ulong t => t,
        double d => d,
        null => throw new InvalidOperationException("D-Bus has no null: a property getter returned null for a string"),
        _ => throw new ArgumentException($"{typeof(T)} has no D-Bus type here"),
    };

    public static T FromVariant<T>(VariantValue value) =>
        typeof(T) == typeof(string) ? (T)(object)value.GetString()
        : typeof(T) == typeof(bool) ? (T)(object)value.GetBool()
        : typeof(T) == typeof(byte) ? (T)(object)value.GetByte()
        : typeof(T) == typeof(short) ? (T)(object)value.GetInt16()
        : typeof(T) == typeof(ushort) ? (T)(object)value.GetUInt16()
        : typeof(T) == typeof(int) ? (T)(object)value.GetInt32()
        : typeof(T) == typeof(uint) ? (T)(object)value.GetUInt32()
        : typeof(T) == typeof(long) ? (T)(object)value.GetInt64()
        : typeof(T) == typeof(ulong) ? (T)(object)value.GetUInt64()
        : (T)(object)value.GetDouble();
}
