// The decoder of the `dmabufsim run` channel on hostile bytes: the committed seed corpus (Fuzz/corpus-run/), a few
// thousand seeded mutations of it, and hand-made malformed packets whose refusal reason is known from the layout
// in tools/dmabufsim-run/dmabufsim_run_proto.h (a 64-byte header: u32 op, u32 len, 7 x s64).
using System.Buffers.Binary;
using Sim.Run;
using Xunit;

namespace Sim.Tests.RunVerb;

public class RunProtocolTests
{
    private static string CorpusDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "Fuzz", "corpus-run")))
        {
            dir = dir.Parent;
        }
        return dir is null ? throw new DirectoryNotFoundException("Fuzz/corpus-run not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "Fuzz", "corpus-run");
    }

    private static byte[] Message(uint op, int payload, uint? length = null, long a0 = 0)
    {
        var m = new byte[RunRequest.HeaderSize + payload];
        BinaryPrimitives.WriteUInt32LittleEndian(m, op);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), length ?? (uint)payload);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(8), a0);
        return m;
    }

    private static string Refusal(byte[] packet)
    {
        Assert.False(RunPacket.TryDecode(packet, out _, out _, out _, out string error));
        return error;
    }

    [Fact]
    public void EverySeedOfTheCorpusDecodesOrIsRefusedWithAReason()
    {
        var files = Directory.GetFiles(CorpusDir()).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.True(files.Length >= 10);
        foreach (var f in files)
        {
            Assert.Null(RunProtocolFuzzTarget.Check(File.ReadAllBytes(f)));
            // The seeds are named for what they are: seed-* decode, bad-* are refused.
            bool decodes = RunPacket.TryDecode(File.ReadAllBytes(f), out _, out _, out _, out _);
            Assert.True(decodes == Path.GetFileName(f).StartsWith("seed-", StringComparison.Ordinal), Path.GetFileName(f));
        }
    }

    [Fact]
    public void SeededMutationsOfTheCorpusNeverEscape()
    {
        var seeds = Directory.GetFiles(CorpusDir()).OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        var rng = new Random(20261208);
        var failures = new List<string>();
        for (int k = 0; k < 3000 && failures.Count < 5; k++)
        {
            var input = seeds[rng.Next(seeds.Length)].ToList();
            for (int n = rng.Next(1, 6); n > 0; n--)
            {
                int at = input.Count == 0 ? 0 : rng.Next(input.Count);
                switch (rng.Next(4))
                {
                    case 0 when input.Count > 0:
                        input[at] = (byte)rng.Next(256);
                        break;
                    case 1 when input.Count > 0:
                        input.RemoveRange(at, Math.Min(input.Count - at, rng.Next(1, 80)));
                        break;
                    case 2:
                        input.InsertRange(at, Enumerable.Range(0, rng.Next(1, 80)).Select(_ => (byte)rng.Next(256)));
                        break;
                    default:
                        // the length field (the second u32) of a header at a multiple of 64 set to anything
                        int h = 64 * rng.Next(input.Count / 64 + 1);
                        if (h + 8 <= input.Count)
                        {
                            BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(input)[(h + 4)..], (uint)rng.Next());
                        }
                        break;
                }
            }
            var bytes = input.ToArray();
            if (RunProtocolFuzzTarget.Check(bytes) is { } e)
            {
                failures.Add($"{Convert.ToBase64String(bytes)}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void MalformedPacketsAreRefusedWithWhatIsWrong()
    {
        // shorter than a header
        Assert.Equal("a message of 10 bytes (a header is 64)", Refusal(new byte[10]));
        // RUN_WRITE (11) claiming one byte more than RUN_MAX_PAYLOAD
        Assert.Equal("payload of 1048577 bytes (limit 1048576)", Refusal(Message(11, 0, (1u << 20) + 1)));
        // a length that runs past the packet: 64 claimed, 4 there
        Assert.Equal("Write with a payload of 64 bytes in 4", Refusal(Message(11, 4, 64)));
        Assert.Equal("unknown op 99", Refusal(Message(99, 0)));
        Assert.Equal("unknown op 0", Refusal(Message(0, 0)));
        // RUN_ORIGIN (28) with 33 return addresses (RUN_MAX_FRAMES is 32), and with half a frame
        Assert.Equal("an origin of 264 bytes", Refusal([.. Message(28, 264), .. Message(3, 0)]));
        Assert.Equal("an origin of 12 bytes", Refusal([.. Message(28, 12), .. Message(3, 0)]));
        Assert.Equal("an origin after an origin", Refusal([.. Message(28, 8), .. Message(28, 8), .. Message(3, 0)]));
        // an origin with no request after it, and bytes after the request
        Assert.Equal("a message of 0 bytes (a header is 64)", Refusal(Message(28, 16)));
        Assert.Equal("5 bytes after the Close request", Refusal([.. Message(3, 0), 1, 2, 3, 4, 5]));
    }

    [Fact]
    public void AnOriginAndARequestDecodeTogether()
    {
        var packet = Message(28, 16).Concat(Message(4, 0, a0: 3)).ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(packet.AsSpan(64), 0x401136);
        Assert.True(RunPacket.TryDecode(packet, out var req, out var origin, out var payload, out _));
        Assert.Equal(RunOp.Ioctl, req.Op);
        Assert.Equal(3, req.A0);
        Assert.Equal(16, origin.Length);
        Assert.Equal(0x401136ul, BinaryPrimitives.ReadUInt64LittleEndian(origin));
        Assert.Equal(0, payload.Length);
    }

    [Fact]
    public void IoctlsAreNamedByTheirCNamesFromTheUapi()
    {
        // _IOWR('d', 0xB2, struct drm_mode_create_dumb): 3 << 30 | 32 << 16 | 'd' << 8 | 0xB2
        Assert.Equal("DRM_IOCTL_MODE_CREATE_DUMB", IoctlNames.Describe(0xc02064b2));
        // _IOW('b', 0, struct dma_buf_sync), _IOWR('>', 3, struct sync_merge_data), _IOWR('d', 0x41, struct drm_vgem_fence_attach)
        Assert.Equal("DMA_BUF_IOCTL_SYNC", IoctlNames.Describe(0x40086200));
        Assert.Equal("SYNC_IOC_MERGE", IoctlNames.Describe(0xc0303e03));
        Assert.Equal("DRM_IOCTL_VGEM_FENCE_ATTACH", IoctlNames.Describe(0xc0106441));
        // _IO('d', 0x1e): a KMS-less slot of drm_ioctls all the same
        Assert.Equal("DRM_IOCTL_SET_MASTER", IoctlNames.Describe(0x641e));
        // _IOW('u', 0x42, 24 bytes) is udmabuf's and kvmfr's number both
        Assert.Equal("KVMFR_DMABUF_CREATE or UDMABUF_CREATE", IoctlNames.Describe(0x40187542));
        // a command no uAPI here defines keeps the spelling of its _IOC macro
        Assert.Equal("_IOWR('z', 0x01, 16)", IoctlNames.Describe(0xc0107a01));
        Assert.Equal("_IO(0x00, 0x05)", IoctlNames.Describe(5));
    }
}
