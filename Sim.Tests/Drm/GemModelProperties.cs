using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Uapi;

namespace Sim.Tests.Drm;

/// <summary>
/// Random sequences of open/close/CREATE/DESTROY/GEM_CLOSE/FLINK/OPEN over two files on each of two devices
/// against a small reference model (per-file handle sets, per-device names): the kernel's results, lowest-free
/// handles, and nothing left alive after the files close.
/// </summary>
public class GemModelProperties
{
    [Property(MaxTest = 60)]
    public bool Random_gem_sequences_match_the_model_and_leak_nothing(int[] raw)
    {
        using var m = new DrmTestMachine("vgem", "vgem");
        var fds = new int[4];
        var handles = new SortedDictionary<uint, int>[4]; // handle -> object id
        var names = new Dictionary<int, int>[2];          // name -> object id
        var objHandles = new Dictionary<int, int>();      // object id -> handle count
        int nextObj = 0;
        for (int k = 0; k < 4; k++)
        {
            fds[k] = -1;
            handles[k] = [];
        }
        names[0] = [];
        names[1] = [];
        uint Lowest(SortedDictionary<uint, int> h)
        {
            uint x = 1;
            while (h.ContainsKey(x))
            {
                x++;
            }
            return x;
        }
        void DropHandle(int f, uint h)
        {
            int obj = handles[f][h];
            handles[f].Remove(h);
            if (--objHandles[obj] == 0)
            {
                foreach (var n in names[f / 2].Where(kv => kv.Value == obj).Select(kv => kv.Key).ToList())
                {
                    names[f / 2].Remove(n);
                }
            }
        }
        foreach (int r in raw ?? [])
        {
            int op = Math.Abs(r % 7);
            int f = Math.Abs((r / 7) % 4);
            uint arg = (uint)Math.Abs((r / 28) % 5);
            int dev = f / 2;
            if (fds[f] < 0 && op != 0)
            {
                continue;
            }
            switch (op)
            {
                case 0:
                    if (fds[f] < 0)
                    {
                        fds[f] = m.Open($"/dev/dri/card{dev}");
                        if (fds[f] < 0)
                        {
                            return false;
                        }
                    }
                    break;
                case 1:
                    if (m.P.Close(fds[f]) != 0)
                    {
                        return false;
                    }
                    foreach (var h in handles[f].Keys.ToList())
                    {
                        DropHandle(f, h);
                    }
                    fds[f] = -1;
                    break;
                case 2:
                    {
                        var c = m.CreateDumb(fds[f], 16, 16, 32);
                        if (c.Ret != 0 || c.Handle != Lowest(handles[f]))
                        {
                            return false;
                        }
                        handles[f][c.Handle] = nextObj;
                        objHandles[nextObj++] = 1;
                        break;
                    }
                case 3:
                case 4:
                    {
                        long ret = op == 3 ? m.DestroyDumb(fds[f], arg) : m.GemClose(fds[f], arg);
                        long want = handles[f].ContainsKey(arg) ? 0 : -(long)Errno.EINVAL;
                        if (ret != want)
                        {
                            return false;
                        }
                        if (ret == 0)
                        {
                            DropHandle(f, arg);
                        }
                        break;
                    }
                case 5:
                    {
                        var (ret, name) = m.Flink(fds[f], arg);
                        if (!handles[f].TryGetValue(arg, out int obj))
                        {
                            if (ret != -(long)Errno.ENOENT)
                            {
                                return false;
                            }
                            break;
                        }
                        int existing = names[dev].Where(kv => kv.Value == obj).Select(kv => kv.Key).DefaultIfEmpty(0).First();
                        int expectName = existing != 0 ? existing : Enumerable.Range(1, 1000).First(n => !names[dev].ContainsKey(n));
                        if (ret != 0 || name != expectName)
                        {
                            return false;
                        }
                        names[dev][expectName] = obj;
                        break;
                    }
                case 6:
                    {
                        var (ret, h, _) = m.GemOpen(fds[f], arg);
                        if (!names[dev].TryGetValue((int)arg, out int obj))
                        {
                            if (ret != -(long)Errno.ENOENT)
                            {
                                return false;
                            }
                            break;
                        }
                        if (ret != 0 || h != Lowest(handles[f]))
                        {
                            return false;
                        }
                        handles[f][h] = obj;
                        objHandles[obj]++;
                        break;
                    }
            }
        }
        for (int k = 0; k < 4; k++)
        {
            if (fds[k] >= 0)
            {
                m.P.Close(fds[k]);
            }
        }
        return m.Live.Count() == 0 && m.Pages.PagesInUse == 0;
    }
}
