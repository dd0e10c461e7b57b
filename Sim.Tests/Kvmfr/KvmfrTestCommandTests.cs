using Sim.Machine;
using Xunit;

namespace Sim.Tests.Kvmfr;

/// <summary><c>dmabufsim kvmfr-test</c> reproduces the upstream test transcripts of data/traces/linux-6.1-kvmfr.</summary>
public class KvmfrTestCommandTests
{
    private static string Transcript(string name) =>
        File.ReadAllText(Path.Combine(DataLocator.FindDataDir()!, "traces", "linux-6.1-kvmfr", name));

    [Fact]
    public void NoDeviceTranscriptAndExit255()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = KvmfrTest.Run(null, stdout, stderr);
        Assert.Equal(255, rc);
        Assert.Equal("Size: 17592186044415 MiB\n", stdout.ToString());
        Assert.Equal("ioctl: Invalid argument\n", stderr.ToString());
        Assert.Equal(Transcript("kvmfr-seed-nodev.stdout.txt"), stdout.ToString() + stderr.ToString());
    }

    [Fact]
    public void TenStaticDevicesTranscriptAndExit0()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = KvmfrTest.Run("1,1,1,1,1,1,1,1,1,1", stdout, stderr);
        Assert.Equal(0, rc);
        Assert.Equal("", stderr.ToString());
        Assert.Equal(Transcript("kvmfr-seed-static1.stdout.txt"), stdout.ToString());
        Assert.Contains("Index 1027: 0xaaaa0021\n", stdout.ToString(), StringComparison.Ordinal);
    }
}
