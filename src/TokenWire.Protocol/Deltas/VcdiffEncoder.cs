namespace TokenWire.Protocol.Deltas;

/// <summary>
/// A VCDIFF (RFC 3284) encoder for channel deltas: one window whose source segment is the whole base, the default
/// code table, and only single ADD, COPY (address modes SELF and HERE) and RUN instructions. Matches are found with a
/// 4-byte block hash over the base and the target so far, each extended forwards and backwards. No secondary
/// compressor, no checksum: what <c>@ably/vcdiff-decoder</c> reads.
/// </summary>
public static class VcdiffEncoder
{
    /// <summary>The shortest COPY worth its instruction and address bytes.</summary>
    private const int MinMatch = 4;

    /// <summary>The shortest RUN preferred to a COPY or ADD of the same bytes.</summary>
    private const int MinRun = 8;

    /// <summary>Earlier occurrences of a block looked at before settling for the longest found.</summary>
    private const int MaxCandidates = 16;

    /// <summary>Default code table indexes (RFC 3284 §5.6): RUN with its size, ADD with its size or of 1..17 bytes,
    /// COPY mode m with its size (19 + 16m) or of 4..18 bytes (19 + 16m + size - 3).</summary>
    private const byte RunIndex = 0;
    private const byte AddIndex = 1;
    private const byte CopyIndex = 19;

    private const byte VcdSource = 0x01;

    /// <summary>The delta that turns <paramref name="source"/> into <paramref name="target"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        var window = new WindowWriter();
        new Matcher(source, target, window).Run();
        return window.ToArray(source.Length, target.Length);
    }

    /// <summary>Finds the instructions: source and target seen as one address space, U = source ++ target.</summary>
    private ref struct Matcher
    {
        private readonly ReadOnlySpan<byte> _source;
        private readonly ReadOnlySpan<byte> _target;
        private readonly WindowWriter _window;
        private readonly int[] _heads;
        private readonly int[] _previous;
        private readonly int _hashShift;

        /// <summary>Where the last COPY ended: edits leave most of the rest in place, so the next match is tried there first.</summary>
        private int _expected;

        public Matcher(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target, WindowWriter window)
        {
            _source = source;
            _target = target;
            _window = window;
            var bits = Math.Clamp(32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(source.Length + target.Length)), 4, 20);
            _heads = new int[1 << bits];
            _hashShift = 32 - bits;
            _previous = new int[source.Length + target.Length];
        }

        private readonly int SourceLength => _source.Length;

        public void Run()
        {
            for (var position = 0; position + MinMatch <= _source.Length; position++)
            {
                Insert(position);
            }

            var pending = 0; // target bytes not yet covered by an instruction start here
            var i = 0;
            while (i < _target.Length)
            {
                var run = RunLength(i);
                var (address, length) = i + MinMatch <= _target.Length ? LongestMatch(i) : (-1, 0);
                if (run >= MinRun && run >= length)
                {
                    _window.Add(_target[pending..i]);
                    _window.Run(run, _target[i]);
                    Skip(i, run);
                    i += run;
                    pending = i;
                    continue;
                }

                if (length < MinMatch)
                {
                    if (i + MinMatch <= _target.Length)
                    {
                        Insert(SourceLength + i);
                    }

                    i++;
                    continue;
                }

                // Pull the match back over pending bytes that match too, so they need no ADD.
                var start = i;
                while (start > pending && address > Floor(address) && _target[start - 1] == At(address - 1))
                {
                    start--;
                    address--;
                    length++;
                }

                _window.Add(_target[pending..start]);
                _window.Copy(length, address, SourceLength + start);
                _expected = address + length;
                Skip(i, start + length - i);
                i = start + length;
                pending = i;
            }

            _window.Add(_target[pending..]);
        }

        /// <summary>Indexes the blocks a COPY or RUN covered, so later target bytes can copy from them.</summary>
        private void Skip(int targetPosition, int count)
        {
            var end = Math.Min(targetPosition + count, _target.Length - MinMatch + 1);
            for (var t = targetPosition; t < end; t++)
            {
                Insert(SourceLength + t);
            }
        }

        private readonly int RunLength(int i)
        {
            var value = _target[i];
            var end = i + 1;
            while (end < _target.Length && _target[end] == value)
            {
                end++;
            }

            return end - i;
        }

        private readonly (int Address, int Length) LongestMatch(int i)
        {
            var here = SourceLength + i;
            var bestAddress = -1;
            var bestLength = 0;
            if (_expected < here && MatchLength(_expected, i) is var expected && expected >= MinMatch)
            {
                (bestAddress, bestLength) = (_expected, expected);
                if (expected == Limit(_expected, i))
                {
                    return (bestAddress, bestLength);
                }
            }

            var candidate = _heads[Hash(here)] - 1;
            for (var tries = 0; candidate >= 0 && tries < MaxCandidates; tries++, candidate = _previous[candidate] - 1)
            {
                var length = MatchLength(candidate, i);
                if (length > bestLength)
                {
                    bestAddress = candidate;
                    bestLength = length;
                    if (length == Limit(candidate, i))
                    {
                        break;
                    }
                }
            }

            return (bestAddress, bestLength);
        }

        private readonly int MatchLength(int address, int i)
        {
            var limit = Limit(address, i);
            var length = 0;
            while (length < limit && At(address + length) == _target[i + length])
            {
                length++;
            }

            return length;
        }

        /// <summary>A COPY from the source stays inside it (RFC 3284 §5.3); one from the target may overlap what it writes.</summary>
        private readonly int Limit(int address, int i) =>
            address < SourceLength ? Math.Min(SourceLength - address, _target.Length - i) : _target.Length - i;

        /// <summary>The lowest address a match at <paramref name="address"/> may be pulled back to: its own segment's start.</summary>
        private readonly int Floor(int address) => address < SourceLength ? 0 : SourceLength;

        private readonly byte At(int address) => address < SourceLength ? _source[address] : _target[address - SourceLength];

        private void Insert(int address)
        {
            var bucket = Hash(address);
            _previous[address] = _heads[bucket];
            _heads[bucket] = address + 1;
        }

        private readonly int Hash(int address)
        {
            var block = (uint)At(address) | ((uint)At(address + 1) << 8) | ((uint)At(address + 2) << 16) | ((uint)At(address + 3) << 24);
            return (int)((block * 2654435761u) >> _hashShift);
        }
    }

    /// <summary>The three sections of one delta window, and the window around them.</summary>
    private sealed class WindowWriter
    {
        private readonly List<byte> _data = [];
        private readonly List<byte> _instructions = [];
        private readonly List<byte> _addresses = [];

        public void Add(ReadOnlySpan<byte> bytes)
        {
            if (bytes.IsEmpty)
            {
                return;
            }

            if (bytes.Length <= 17)
            {
                _instructions.Add((byte)(AddIndex + bytes.Length));
            }
            else
            {
                _instructions.Add(AddIndex);
                WriteInteger(_instructions, bytes.Length);
            }

            foreach (var b in bytes)
            {
                _data.Add(b);
            }
        }

        public void Run(int length, byte value)
        {
            _instructions.Add(RunIndex);
            WriteInteger(_instructions, length);
            _data.Add(value);
        }

        /// <param name="here">The address (in U) the copy writes to: HERE mode addresses back from it.</param>
        public void Copy(int length, int address, int here)
        {
            // SELF (mode 0) or HERE (mode 1), whichever encodes shorter.
            var mode = IntegerLength(here - address) < IntegerLength(address) ? 1 : 0;
            var index = CopyIndex + (16 * mode);
            if (length is >= 4 and <= 18)
            {
                _instructions.Add((byte)(index + length - 3));
            }
            else
            {
                _instructions.Add((byte)index);
                WriteInteger(_instructions, length);
            }

            WriteInteger(_addresses, mode == 1 ? here - address : address);
        }

        public byte[] ToArray(int sourceSegmentLength, int targetLength)
        {
            var delta = new List<byte>(_data.Count + _instructions.Count + _addresses.Count + 16);
            WriteInteger(delta, targetLength);
            delta.Add(0); // Delta_Indicator: no secondary compression
            WriteInteger(delta, _data.Count);
            WriteInteger(delta, _instructions.Count);
            WriteInteger(delta, _addresses.Count);
            delta.AddRange(_data);
            delta.AddRange(_instructions);
            delta.AddRange(_addresses);

            var output = new List<byte>(delta.Count + 16) { 0xD6, 0xC3, 0xC4, 0x00, 0x00 }; // "VCD", version 0, no header extras
            if (sourceSegmentLength > 0)
            {
                output.Add(VcdSource);
                WriteInteger(output, sourceSegmentLength);
                WriteInteger(output, 0);
            }
            else
            {
                output.Add(0);
            }

            WriteInteger(output, delta.Count);
            output.AddRange(delta);
            return [.. output];
        }
    }

    /// <summary>RFC 3284 §2: base 128, most significant digit first, the high bit set on all but the last.</summary>
    internal static void WriteInteger(List<byte> output, int value)
    {
        var length = IntegerLength(value);
        for (var shift = 7 * (length - 1); shift > 0; shift -= 7)
        {
            output.Add((byte)(0x80 | ((value >> shift) & 0x7F)));
        }

        output.Add((byte)(value & 0x7F));
    }

    private static int IntegerLength(int value)
    {
        var length = 1;
        while ((value >>= 7) != 0)
        {
            length++;
        }

        return length;
    }
}
