// Models kernel/printk/printk.c: printk records with a log level in the kernel's ring buffer, continuation
// lines (KERN_CONT, and records left open because they lack a trailing newline), and syslog(READ_CLEAR) as
// `dmesg -c` uses it.
using System.Text;

namespace Sim.Core.Kernel;

/// <summary>One record of the kernel log: its level (0 KERN_EMERG .. 7 KERN_DEBUG) and text without the newline.</summary>
public readonly record struct LogRecord(int Level, string Text);

/// <summary>
/// The kernel log buffer. A message ending in a newline is finalised at once; a message without one stays open
/// (a later <see cref="Cont"/> may append to it) and becomes readable only when the next message is stored, as
/// 6.1's ringbuffer finalises a record when the next one is reserved.
/// </summary>
[Kernel("printk", "kernel/printk/printk.c")]
public sealed class Printk
{
    /// <summary>KERN_EMERG.</summary>
    public const int KERN_EMERG = 0;
    /// <summary>KERN_ALERT.</summary>
    public const int KERN_ALERT = 1;
    /// <summary>KERN_CRIT.</summary>
    public const int KERN_CRIT = 2;
    /// <summary>KERN_ERR.</summary>
    public const int KERN_ERR = 3;
    /// <summary>KERN_WARNING.</summary>
    public const int KERN_WARNING = 4;
    /// <summary>KERN_NOTICE.</summary>
    public const int KERN_NOTICE = 5;
    /// <summary>KERN_INFO.</summary>
    public const int KERN_INFO = 6;
    /// <summary>KERN_DEBUG.</summary>
    public const int KERN_DEBUG = 7;
    /// <summary>LOGLEVEL_DEFAULT: printk without a level prefix.</summary>
    public const int KERN_DEFAULT = -1;
    /// <summary>default_message_loglevel (CONFIG_MESSAGE_LOGLEVEL_DEFAULT = 4).</summary>
    public const int MessageLoglevelDefault = KERN_WARNING;

    private readonly List<LogRecord> _records = [];
    private readonly StringBuilder _open = new();
    private int _openLevel;
    private bool _hasOpen;

    /// <summary>Finalised records not yet cleared, oldest first.</summary>
    public IReadOnlyList<LogRecord> Records => _records;

    /// <summary>
    /// <c>printk(level "text")</c>: <paramref name="level"/> is a KERN_* value or <see cref="KERN_DEFAULT"/>;
    /// a trailing newline finalises the record.
    /// </summary>
    [Kernel("vprintk_store", "kernel/printk/printk.c")]
    public void Print(int level, string text)
    {
        FinaliseOpen();
        _openLevel = level == KERN_DEFAULT ? MessageLoglevelDefault : level;
        _open.Clear();
        _hasOpen = true;
        Append(text);
    }

    /// <summary><c>pr_cont(text)</c> (KERN_CONT): appends to the open record, or starts a default-level one.</summary>
    public void Cont(string text)
    {
        if (!_hasOpen)
        {
            _openLevel = MessageLoglevelDefault;
            _open.Clear();
            _hasOpen = true;
        }
        Append(text);
    }

    /// <summary><c>pr_err</c>.</summary>
    public void Err(string text) => Print(KERN_ERR, text);

    /// <summary><c>pr_warn</c>.</summary>
    public void Warn(string text) => Print(KERN_WARNING, text);

    /// <summary><c>pr_notice</c>.</summary>
    public void Notice(string text) => Print(KERN_NOTICE, text);

    /// <summary><c>pr_info</c>.</summary>
    public void Info(string text) => Print(KERN_INFO, text);

    /// <summary>
    /// <c>syslog(SYSLOG_ACTION_READ_CLEAR)</c> (what <c>dmesg -c</c> does): every finalised record since the last
    /// clear; an open record (no newline yet) is not readable and stays.
    /// </summary>
    [Kernel("syslog_print_all", "kernel/printk/printk.c")]
    public List<LogRecord> ReadClear()
    {
        var all = new List<LogRecord>(_records);
        _records.Clear();
        return all;
    }

    /// <summary>Empties the log (the state <c>boot_state.kernel_log_empty</c> describes).</summary>
    public void Clear()
    {
        _records.Clear();
        _hasOpen = false;
        _open.Clear();
    }

    private void Append(string text)
    {
        int start = 0;
        for (int k = 0; k < text.Length; k++)
        {
            if (text[k] == '\n')
            {
                _open.Append(text, start, k - start);
                _records.Add(new LogRecord(_openLevel, _open.ToString()));
                _open.Clear();
                start = k + 1;
                _hasOpen = k + 1 < text.Length;
            }
        }
        if (start < text.Length)
        {
            _open.Append(text, start, text.Length - start);
            _hasOpen = true;
        }
    }

    private void FinaliseOpen()
    {
        if (_hasOpen && _open.Length > 0)
        {
            _records.Add(new LogRecord(_openLevel, _open.ToString()));
        }
        _open.Clear();
        _hasOpen = false;
    }
}
