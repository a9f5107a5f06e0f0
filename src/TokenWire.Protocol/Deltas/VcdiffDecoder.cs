namespace TokenWire.Protocol.Deltas;

/// <summary>
/// A VCDIFF (RFC 3284) decoder for what Ably's deltas use: any number of windows, a source segment from the base
/// (VCD_SOURCE), the default code table with its address caches, no secondary compressor, no application-defined
/// code table. Checks every length and address against the input; a malformed delta is a <see cref="FormatException"/>.
/// </summary>
public static class VcdiffDecoder
{
    private const int NearSize = 4;
    private const int SameSize = 3;

    private static readonly Instruction[] CodeTable = BuildDefaultCodeTable();

    private enum Kind : byte
    {
        NoOp,
        Add,
        Run,
        Copy,
    }

    /// <summary>Applies <paramref name="delta"/> to <paramref name="source"/>.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> delta, ReadOnlySpan<byte> source)
    {
        var reader = new Reader(delta);
        if (reader.Byte() != 0xD6 || reader.Byte() != 0xC3 || reader.Byte() != 0xC4 || reader.Byte() != 0x00)
        {
            throw new FormatException("Not a VCDIFF delta (bad magic)");
        }

        if (reader.Byte() != 0)
        {
            throw new FormatException("VCDIFF secondary compression and custom code tables are not supported");
        }

        var output = new List<byte>();
        while (!reader.AtEnd)
        {
            DecodeWindow(ref reader, source, output);
        }

        return [.. output];
    }

    private static void DecodeWindow(ref Reader reader, ReadOnlySpan<byte> source, List<byte> output)
    {
        var indicator = reader.Byte();
        if ((indicator & ~0x01) != 0)
        {
            throw new FormatException("Only VCD_SOURCE windows are supported");
        }

        ReadOnlySpan<byte> segment = default;
        if ((indicator & 0x01) != 0)
        {
            var length = reader.Integer();
            var position = reader.Integer();
            if ((long)position + length > source.Length)
            {
                throw new FormatException("Source segment outside the base");
            }

            segment = source.Slice(position, length);
        }

        var deltaLength = reader.Integer();
        var window = new Reader(reader.Take(deltaLength));
        var targetLength = window.Integer();
        if (window.Byte() != 0)
        {
            throw new FormatException("Compressed delta sections are not supported");
        }

        var dataLength = window.Integer();
        var instructionsLength = window.Integer();
        var addressesLength = window.Integer();
        var data = new Reader(window.Take(dataLength));
        var instructions = new Reader(window.Take(instructionsLength));
        var addresses = new Reader(window.Take(addressesLength));

        // U = segment ++ target; the target part is written as the instructions run.
        var target = new byte[targetLength];
        var written = 0;
        Span<int> near = stackalloc int[NearSize];
        Span<int> same = stackalloc int[SameSize * 256];
        near.Clear();
        same.Clear();
        var nextNear = 0;
        while (!instructions.AtEnd)
        {
            var entry = CodeTable[instructions.Byte()];
            foreach (var (kind, tableSize, mode) in new[] { (entry.Kind1, entry.Size1, entry.Mode1), (entry.Kind2, entry.Size2, entry.Mode2) })
            {
                if (kind == Kind.NoOp)
                {
                    continue;
                }

                var size = tableSize == 0 ? instructions.Integer() : tableSize;
                if (written + size > targetLength)
                {
                    throw new FormatException("Instructions overrun the target window");
                }

                switch (kind)
                {
                    case Kind.Add:
                        data.Take(size).CopyTo(target.AsSpan(written));
                        break;
                    case Kind.Run:
                        target.AsSpan(written, size).Fill(data.Byte());
                        break;
                    default:
                        var here = segment.Length + written;
                        var address = mode switch
                        {
                            0 => addresses.Integer(),
                            1 => here - addresses.Integer(),
                            < 2 + NearSize => near[mode - 2] + addresses.Integer(),
                            _ => same[((mode - 2 - NearSize) * 256) + addresses.Byte()],
                        };
                        if (address < 0 || address >= here)
                        {
                            throw new FormatException("COPY address out of range");
                        }

                        near[nextNear] = address;
                        nextNear = (nextNear + 1) % NearSize;
                        same[address % (SameSize * 256)] = address;
                        for (var i = 0; i < size; i++)
                        {
                            var from = address + i;
                            target[written + i] = from < segment.Length ? segment[from] : target[from - segment.Length];
                        }

                        break;
                }

                written += size;
            }
        }

        if (written != targetLength)
        {
            throw new FormatException("Target window shorter than declared");
        }

        output.AddRange(target);
    }

    /// <summary>RFC 3284 §5.6.</summary>
    private static Instruction[] BuildDefaultCodeTable()
    {
        var table = new List<Instruction>(256)
        {
            new(Kind.Run, 0, 0),
        };
        for (var size = 0; size <= 17; size++)
        {
            table.Add(new(Kind.Add, size, 0));
        }

        for (var mode = 0; mode <= 8; mode++)
        {
            table.Add(new(Kind.Copy, 0, mode));
            for (var size = 4; size <= 18; size++)
            {
                table.Add(new(Kind.Copy, size, mode));
            }
        }

        for (var mode = 0; mode <= 5; mode++)
        {
            for (var add = 1; add <= 4; add++)
            {
                for (var copy = 4; copy <= 6; copy++)
                {
                    table.Add(new(Kind.Add, add, 0, Kind.Copy, copy, mode));
                }
            }
        }

        for (var mode = 6; mode <= 8; mode++)
        {
            for (var add = 1; add <= 4; add++)
            {
                table.Add(new(Kind.Add, add, 0, Kind.Copy, 4, mode));
            }
        }

        for (var mode = 0; mode <= 8; mode++)
        {
            table.Add(new(Kind.Copy, 4, mode, Kind.Add, 1, 0));
        }

        return [.. table];
    }

    private readonly record struct Instruction(Kind Kind1, int Size1, int Mode1, Kind Kind2 = Kind.NoOp, int Size2 = 0, int Mode2 = 0);

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly bool AtEnd => _position >= _bytes.Length;

        public byte Byte() => _position < _bytes.Length ? _bytes[_position++] : throw new FormatException("Delta truncated");

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _bytes.Length - _position)
            {
                throw new FormatException("Delta truncated");
            }

            var slice = _bytes.Slice(_position, count);
            _position += count;
            return slice;
        }

        public int Integer()
        {
            long value = 0;
            for (var digits = 0; digits < 5; digits++)
            {
                var b = Byte();
                value = (value << 7) | (uint)(b & 0x7F);
                if ((b & 0x80) == 0)
                {
                    return value <= int.MaxValue ? (int)value : throw new FormatException("Integer too large");
                }
            }

            throw new FormatException("Integer too long");
        }
    }
}
