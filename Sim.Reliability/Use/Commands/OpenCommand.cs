using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>openat of a DRM node, /dev/kvmfr0, a DMA-BUF heap, or a node that does not exist (-ENOENT).</summary>
public sealed class OpenCommand : UseCommand
{
    private string _path = "";
    private uint _flags;

    /// <inheritdoc/>
    public override string Name => "open";

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Fds.Count < UseState.MaxFds;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        int card = s.Rng.Next(s.Cards + 3);
        _path = card < s.Cards ? $"/dev/dri/card{card}"
            : card == s.Cards && s.Kvmfr ? "/dev/kvmfr0"
            : card == s.Cards + 1 && s.Heaps ? (s.Arm && s.Rng.Next(2) == 0 ? "/dev/dma_heap/reserved" : "/dev/dma_heap/system")
            : "/dev/dri/card9";
        _flags = OpenFlags.O_RDWR | (s.Rng.Next(2) == 0 ? OpenFlags.O_CLOEXEC : 0);
    }

    /// <inheritdoc/>
    public override long Run(UseState s) => P(s).P.Openat(_path, _flags);

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (_path == "/dev/dri/card9" && ret != -(int)Errno.ENOENT)
        {
            s.Violation($"open {_path} returned {ret}, expected -ENOENT");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret) => s.NewFd(P(s), ret, "open");

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: open(\"{_path}\", 0x{_flags:x})";
}
