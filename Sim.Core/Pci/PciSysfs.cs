// Models what drivers/pci (Linux 6.1) shows of a PCI function in sysfs: pci-sysfs.c's attributes (vendor, device,
// subsystem_vendor, subsystem_device as "0x%04x", revision "0x%02x", class "0x%06x", irq, enable, numa_node,
// modalias, config as a 256-byte binary file for a conventional function) and pci-driver.c's pci_uevent
// (PCI_CLASS, PCI_ID, PCI_SUBSYS_ID, PCI_SLOT_NAME, MODALIAS). drivers/pci is not in the project's source tree:
// the formats are checked against a capture of the real guest (data/sysfs/).
using System.Globalization;
using Sim.Core.Base;

namespace Sim.Core.Pci;

/// <summary>
/// One PCI function as the kernel knows it after enumeration: its slot name, identity and class, the bound driver,
/// the interrupt line and its configuration space (the first 256 bytes).
/// </summary>
[Kernel("struct pci_dev", "include/linux/pci.h")]
public sealed record PciFunction(string SlotName, ushort Vendor, ushort Device, ushort SubsystemVendor, ushort SubsystemDevice,
    byte Revision, uint Class, int Irq, string? Driver, byte[] Config)
{
    /// <summary>The host bridge's directory under /sys/devices ("pci" + domain:bus).</summary>
    public string RootName => "pci" + SlotName[..7];

    /// <summary><c>pci_uevent</c>'s MODALIAS ("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X").</summary>
    public string Modalias => string.Create(CultureInfo.InvariantCulture,
        $"pci:v{Vendor:X8}d{Device:X8}sv{SubsystemVendor:X8}sd{SubsystemDevice:X8}bc{(byte)(Class >> 16):X2}sc{(byte)(Class >> 8):X2}i{(byte)Class:X2}");

    /// <summary><c>pci_uevent</c> (drivers/pci/pci-driver.c).</summary>
    [Kernel("pci_uevent", "drivers/pci/pci-driver.c")]
    public IEnumerable<string> Uevent()
    {
        yield return string.Create(CultureInfo.InvariantCulture, $"PCI_CLASS={Class:X4}");
        yield return string.Create(CultureInfo.InvariantCulture, $"PCI_ID={Vendor:X4}:{Device:X4}");
        yield return string.Create(CultureInfo.InvariantCulture, $"PCI_SUBSYS_ID={SubsystemVendor:X4}:{SubsystemDevice:X4}");
        yield return "PCI_SLOT_NAME=" + SlotName;
        yield return "MODALIAS=" + Modalias;
    }
}

/// <summary>The sysfs side of a PCI function.</summary>
[Kernel("pci_create_sysfs_dev_files", "drivers/pci/pci-sysfs.c")]
public static class PciSysfs
{
    /// <summary>
    /// <c>pci_device_add</c> + <c>pci_create_sysfs_dev_files</c>: /sys/devices/pciDDDD:BB/SLOT with its attributes,
    /// on bus "pci", bound to <see cref="PciFunction.Driver"/>.
    /// </summary>
    [Kernel("pci_device_add", "drivers/pci/probe.c")]
    public static SysDevice Add(DeviceCore devices, PciFunction f)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(f);
        static string Hex(uint v, int digits) => "0x" + v.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + "\n";
        var root = new SysDevice { Name = f.RootName };
        devices.Sysfs.Mkdir(root.Path);
        var dev = new SysDevice
        {
            Name = f.SlotName,
            Parent = root,
            Bus = "pci",
            Driver = f.Driver,
            BusUevent = f.Uevent,
            Attrs =
            [
                SysAttr.Text("vendor", () => Hex(f.Vendor, 4)),
                SysAttr.Text("device", () => Hex(f.Device, 4)),
                SysAttr.Text("subsystem_vendor", () => Hex(f.SubsystemVendor, 4)),
                SysAttr.Text("subsystem_device", () => Hex(f.SubsystemDevice, 4)),
                SysAttr.Text("revision", () => Hex(f.Revision, 2)),
                SysAttr.Text("class", () => Hex(f.Class, 6)),
                SysAttr.Text("irq", () => f.Irq.ToString(CultureInfo.InvariantCulture) + "\n"),
                SysAttr.Text("enable", () => (f.Driver is null ? "0" : "1") + "\n", 0x1a4),
                SysAttr.Text("numa_node", () => "-1\n", 0x1a4),
                SysAttr.Text("modalias", () => f.Modalias + "\n"),
                SysAttr.Text("driver_override", () => "(null)\n", 0x1a4),
                new SysAttr("config", () => (byte[])f.Config.Clone(), 0x1a4, f.Config.Length),
            ],
        };
        devices.DeviceAdd(dev);
        return dev;
    }
}
