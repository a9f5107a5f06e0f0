namespace TokenWire.LoadTest.Tests;

/// <summary>
/// A matrix run measures the server's steady state: its default warm-up covers a fresh server's JIT tiering and first
/// collections after connecting (<see cref="LoadTestOptions.MatrixWarmup"/>); the sweep's short probes keep their own.
/// </summary>
public sealed class OptionsTests
{
    [Fact]
    public void A_matrix_run_warms_up_for_eight_seconds_unless_told()
    {
        Assert.Equal(TimeSpan.FromSeconds(8), LoadTestOptions.Parse([]).Timing.Warmup);
        Assert.Equal(TimeSpan.FromSeconds(3), LoadTestOptions.Parse(["--warmup", "3"]).Timing.Warmup);
    }

    [Fact]
    public void A_sweep_probe_keeps_its_one_second_warm_up()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), LoadTestOptions.Parse(["--sweep"]).Timing.Warmup);
    }
}
