using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Drm;

namespace Sim.Reliability.Use;

/// <summary>One simulated process as the model sees it: its descriptors and its mappings.</summary>
public sealed class UseProc
{
    /// <summary>The simulated process.</summary>
    public required Process P { get; init; }

    /// <summary>Open descriptors and the file each names (what the model expects the fd table to hold).</summary>
    public SortedDictionary<int, KernelFile> Fds { get; } = [];

    /// <summary>Live mappings and the file each maps (a mapping holds its file, and a drm_file its handles).</summary>
    public List<(ulong Addr, ulong Len, KernelFile? File)> Maps { get; } = [];
}

/// <summary>One GEM object as the model sees it: how many handles name it (its name dies with the last one).</summary>
public sealed class GemModel
{
    /// <summary>Handles over all drm_files that name the object.</summary>
    public int Handles { get; set; }

    /// <summary>
    /// Made by importing another device's or exporter's dma-buf: exporting it gives that dma-buf back
    /// (drm_gem_prime_handle_to_fd on an import_attach), so it never becomes the exporter of a dma-buf.
    /// </summary>
    public bool Imported { get; init; }
}

/// <summary>One drm_file as the model sees it: its device and handle → object.</summary>
public sealed class DrmFileModel(DrmDevice dev)
{
    /// <summary>The device of the file (flink names are per device).</summary>
    public DrmDevice Dev { get; } = dev;

    /// <summary>Open handles and the object each names.</summary>
    public SortedDictionary<uint, GemModel> Handles { get; } = [];
}
