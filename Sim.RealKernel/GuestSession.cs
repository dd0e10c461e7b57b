using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Sim.RealKernel;

/// <summary>The answer of the guest agent to one script: the trace it wrote and how the script's process ended.</summary>
/// <param name="Trace">The trace text (header line + one event line per call).</param>
/// <param name="Events">Number of events.</param>
/// <param name="RmmodResult">The vgem <c>delete_module</c> result after the script's exit (0, or -errno: something leaked).</param>
public sealed record ScriptAnswer(string Trace, int Events, int RmmodResult);

/// <summary>
/// One boot of the real kernel under QEMU (TCG, no KVM, no network, -nographic, -no-reboot) with the guest agent on the
/// second ISA serial port, reached through a unix socket. One boot serves many scripts.
/// </summary>
public sealed class GuestSession : IDisposable
{
    private readonly Process _qemu;
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;
    private readonly string _dir;

    private GuestSession(Process qemu, Socket socket, string dir)
    {
        _qemu = qemu;
        _socket = socket;
        _dir = dir;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8, false, 1 << 16);
        _writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n", AutoFlush = false };
    }

    /// <summary>Wall time from starting QEMU to the agent's READY line.</summary>
    public TimeSpan BootTime { get; private set; }

    /// <summary>The kernel release the agent reported.</summary>
    public string KernelRelease { get; private set; } = "";

    /// <summary>The guest console (ttyS0) log file.</summary>
    public string ConsoleLog => Path.Combine(_dir, "console.log");

    /// <summary>Scripts run so far in this boot.</summary>
    public int ScriptsRun { get; private set; }

    /// <summary>Boots the image and waits for the agent.</summary>
    public static GuestSession Boot(RealKernelImage image, int memMib = 512, int timeoutSeconds = 300)
    {
        var sw = Stopwatch.StartNew();
        var dir = Path.Combine(image.CacheDir, "run", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        var sock = Path.Combine(dir, "agent.sock");
        File.Delete(sock);
        var psi = new ProcessStartInfo(RealKernelImage.Qemu)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            "-machine", "pc", "-accel", "tcg", "-cpu", "qemu64", "-smp", "1", "-m", $"{memMib}M",
            "-nographic", "-no-reboot", "-nic", "none", "-monitor", "none",
            "-kernel", image.KernelPath, "-initrd", image.InitramfsPath,
            "-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
            "-serial", $"file:{Path.Combine(dir, "console.log")}",
            "-chardev", $"socket,id=agent,path={sock},server=on,wait=off",
            "-serial", "chardev:agent",
        })
        {
            psi.ArgumentList.Add(a);
        }
        if (image.Guest == "virtio-gpu")
        {
            // QEMU's virtio-gpu-pci at 00:03.0 (the default VGA adapter stays at 00:02.0), as the fixed traces had it
            psi.ArgumentList.Add("-device");
            psi.ArgumentList.Add("virtio-gpu-pci");
        }
        var qemu = Process.Start(psi) ?? throw new RealKernelException("qemu-system-x86_64: cannot start");
        qemu.StandardInput.Close();
        var qemuErr = new StringBuilder();
        qemu.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (qemuErr)
                {
                    qemuErr.AppendLine(e.Data);
                }
            }
        };
        qemu.OutputDataReceived += (_, _) => { };
        qemu.BeginErrorReadLine();
        qemu.BeginOutputReadLine();
        Socket? socket = null;
        while (socket is null)
        {
            if (qemu.HasExited)
            {
                throw new RealKernelException($"QEMU exited ({qemu.ExitCode}) before the agent channel opened: {qemuErr}");
            }
            if (sw.Elapsed.TotalSeconds > 30)
            {
                qemu.Kill(true);
                throw new RealKernelException("QEMU's agent socket did not appear within 30 s");
            }
            if (File.Exists(sock))
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(sock));
                    socket = s;
                    break;
                }
                catch (SocketException)
                {
                    s.Dispose();
                }
            }
            Thread.Sleep(20);
        }
        var session = new GuestSession(qemu, socket, dir);
        socket.ReceiveTimeout = timeoutSeconds * 1000;
        try
        {
            while (true)
            {
                var line = session.ReadLine() ?? throw new RealKernelException($"the agent channel closed during boot; console: {session.ConsoleTail()}");
                if (line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    session.KernelRelease = line[6..].Trim();
                    break;
                }
            }
        }
        catch (IOException ex)
        {
            session.Dispose();
            throw new RealKernelException($"no READY from the agent within {timeoutSeconds} s: {ex.Message}");
        }
        session.BootTime = sw.Elapsed;
        socket.ReceiveTimeout = 120_000;
        return session;
    }

    private string? ReadLine()
    {
        // The guest tty may add carriage returns; strip them.
        try
        {
            var l = _reader.ReadLine();
            return l?.TrimEnd('\r');
        }
        catch (IOException ex)
        {
            throw new RealKernelException($"no answer from the agent ({ex.Message}); a call may block in the guest. Console: {ConsoleTail()}", ex);
        }
    }

    /// <summary>The last lines of the guest console.</summary>
    public string ConsoleTail()
    {
        try
        {
            using var fs = new FileStream(ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var r = new StreamReader(fs);
            var all = r.ReadToEnd();
            return all.Length > 2000 ? all[^2000..] : all;
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Runs one script (lines in the agent's call syntax) on a freshly loaded vgem and returns the agent's trace.</summary>
    public ScriptAnswer RunScript(string name, IEnumerable<string> calls)
    {
        _writer.Write("SCRIPT ");
        _writer.Write(name);
        _writer.Write('\n');
        foreach (var c in calls)
        {
            _writer.Write(c);
            _writer.Write('\n');
        }
        _writer.Write("END\n");
        _writer.Flush();
        var sb = new StringBuilder();
        bool begun = false;
        while (true)
        {
            var line = ReadLine() ?? throw new RealKernelException($"the agent channel closed during script {name}; console: {ConsoleTail()}");
            if (!begun)
            {
                begun = line.StartsWith("BEGIN ", StringComparison.Ordinal);
                continue;
            }
            if (line.StartsWith("DONE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                ScriptsRun++;
                return new ScriptAnswer(sb.ToString(), int.Parse(parts[^2], CultureInfo.InvariantCulture), int.Parse(parts[^1], CultureInfo.InvariantCulture));
            }
            sb.Append(line).Append('\n');
        }
    }

    /// <summary>
    /// Runs a program of the initramfs under the tracer (LD_PRELOAD) and returns its exit status, its trace and what it
    /// wrote on stdout and stderr (the agent sends them as <c>OUT</c> and <c>ERR</c> lines before the trace).
    /// </summary>
    public TracedRun RunTraced(string commandLine) => Request($"RUN {commandLine}");

    /// <summary>Runs <c>sh -c <paramref name="shellCommand"/></c> in the guest (no tracer): its exit status and output (stdout and stderr).</summary>
    public (int Status, string Output) Exec(string shellCommand)
    {
        var r = Request($"EXEC {shellCommand}");
        return (r.Status, r.Trace);
    }

    // One RUN/EXEC request: OUT/ERR lines (RUN), "FILE status", the file's lines, "EOF".
    private TracedRun Request(string request)
    {
        string commandLine = request;
        _writer.Write(request);
        _writer.Write('\n');
        _writer.Flush();
        int status = -1;
        var sb = new StringBuilder();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        bool inFile = false;
        while (true)
        {
            var line = ReadLine() ?? throw new RealKernelException($"the agent channel closed while running {commandLine}");
            if (!inFile)
            {
                if (line.StartsWith("FILE ", StringComparison.Ordinal))
                {
                    status = int.Parse(line[5..], CultureInfo.InvariantCulture);
                    inFile = true;
                }
                else if (line.StartsWith("OUT ", StringComparison.Ordinal))
                {
                    stdout.Append(line.AsSpan(4)).Append('\n');
                }
                else if (line.StartsWith("ERR ", StringComparison.Ordinal))
                {
                    stderr.Append(line.AsSpan(4)).Append('\n');
                }
                continue;
            }
            if (line == "EOF")
            {
                return new TracedRun(status, sb.ToString(), stdout.ToString(), stderr.ToString());
            }
            sb.Append(line).Append('\n');
        }
    }

    /// <summary>Powers the guest off and waits for QEMU.</summary>
    public void Dispose()
    {
        try
        {
            if (!_qemu.HasExited)
            {
                _writer.Write("QUIT\n");
                _writer.Flush();
                if (!_qemu.WaitForExit(20_000))
                {
                    _qemu.Kill(true);
                }
            }
        }
        catch (IOException)
        {
            if (!_qemu.HasExited)
            {
                _qemu.Kill(true);
            }
        }
        _reader.Dispose();
        _writer.Dispose();
        _socket.Dispose();
        _qemu.Dispose();
        try
        {
            File.Delete(Path.Combine(_dir, "agent.sock"));
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A program run under the tracer in the guest: its exit status, trace, stdout and stderr.</summary>
/// <param name="Status">Exit status (128+signal when killed).</param>
/// <param name="Trace">The trace's lines.</param>
/// <param name="Stdout">What it wrote on stdout.</param>
/// <param name="Stderr">What it wrote on stderr.</param>
public sealed record TracedRun(int Status, string Trace, string Stdout, string Stderr);
