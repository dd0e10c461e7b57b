using System.Globalization;
using System.Text;

namespace Sim.RealKernel;

/// <summary>Writes a cpio archive in the "newc" format (the one the kernel's initramfs unpacker reads).</summary>
public sealed class CpioWriter(Stream output)
{
    private int _ino = 1;

    /// <summary>A directory entry (mode 0755).</summary>
    public void Directory(string path) => Entry(path, 0x4000 | 0x1ED, []);

    /// <summary>A regular file with the given permission bits.</summary>
    public void File(string path, byte[] data, int perm = 0x1A4) => Entry(path, 0x8000 | perm, data);

    /// <summary>A symbolic link.</summary>
    public void Symlink(string path, string target) => Entry(path, 0xA000 | 0x1FF, Encoding.UTF8.GetBytes(target));

    /// <summary>The closing <c>TRAILER!!!</c> entry.</summary>
    public void Finish() => Entry("TRAILER!!!", 0, [], ino: 0);

    private void Entry(string path, int mode, byte[] data, int? ino = null)
    {
        var name = Encoding.UTF8.GetBytes(path.TrimStart('/') + "\0");
        var h = new StringBuilder("070701");
        void Hex(long v) => h.Append(v.ToString("x8", CultureInfo.InvariantCulture));
        Hex(ino ?? _ino++);
        Hex(mode);
        Hex(0); // uid
        Hex(0); // gid
        Hex(1); // nlink
        Hex(0); // mtime
        Hex(data.Length);
        Hex(0); // devmajor
        Hex(0); // devminor
        Hex(0); // rdevmajor
        Hex(0); // rdevminor
        Hex(name.Length);
        Hex(0); // check
        var header = Encoding.ASCII.GetBytes(h.ToString());
        output.Write(header);
        output.Write(name);
        Pad(header.Length + name.Length);
        output.Write(data);
        Pad(data.Length);
    }

    private void Pad(long n)
    {
        int pad = (int)((4 - (n % 4)) % 4);
        for (int k = 0; k < pad; k++)
        {
            output.WriteByte(0);
        }
    }
}
