using System.Globalization;

namespace TokenWire.LoadTest;

/// <summary>Machine-wide CPU counters from the first line of <c>/proc/stat</c> (Linux); null elsewhere.</summary>
public readonly record struct MachineCpu(long Total, long Idle)
{
    public static MachineCpu? Read()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is null || fields.Length < 9 || fields[0] != "cpu")
            {
                return null;
            }

            // user nice system idle iowait irq softirq steal (guest time is already counted in user).
            var values = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return new MachineCpu(values.Sum(), values[3] + values[4]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Cores busy on average between two readings.</summary>
    public static double BusyCores(MachineCpu before, MachineCpu after)
    {
        var total = after.Total - before.Total;
        return total <= 0 ? 0 : (double)(total - (after.Idle - before.Idle)) / total * Environment.ProcessorCount;
    }

    /// <summary>
    /// Waits until the whole machine has used under <paramref name="maxBusyCores"/> for three consecutive seconds,
    /// or <paramref name="maxWait"/> has passed; true when it became quiet.
    /// </summary>
    public static async Task<bool> WaitForQuietAsync(TimeSpan maxWait, double maxBusyCores, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var quietSeconds = 0;
        var previous = Read();
        while (previous is not null && waited.Elapsed < maxWait)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            var current = Read();
            if (current is null)
            {
                return false;
            }

            quietSeconds = BusyCores(previous.Value, current.Value) < maxBusyCores ? quietSeconds + 1 : 0;
            if (quietSeconds >= 3)
            {
                return true;
            }

            previous = current;
        }

        return false;
    }
}
