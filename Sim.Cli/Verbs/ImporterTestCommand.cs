using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>The <c>importer-test</c> verb: its options, then <see cref="ImporterTest"/>.</summary>
internal static class ImporterTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var exporter = new Option<string>("--exporter") { Description = "cma (pl111, GEM DMA helpers) or pages (page-array exporter)", HelpName = "EXPORTER", DefaultValueFactory = _ => "cma" };
        exporter.AcceptOnlyFromAmong("cma", "pages");
        // The uAPI's u32 fields, as the kernel takes them: 0 and other values it refuses are its to refuse (-EINVAL).
        var width = Conventions.Number("--width", "PIXELS", "dumb buffer width (struct drm_mode_create_dumb.width, a u32)", 640u, uint.MinValue, uint.MaxValue);
        var height = Conventions.Number("--height", "PIXELS", "dumb buffer height (a u32)", 480u, uint.MinValue, uint.MaxValue);
        var bpp = Conventions.Number("--bpp", "BITS", "bits per pixel (a u32)", 32u, uint.MinValue, uint.MaxValue);
        var json = new Option<bool>("--json") { Description = "JSON Lines: one summary object {\"passed\":N,\"failed\":M,\"skipped\":0,...} instead of the pr_info line" };
        var cmd = new Command("importer-test", "Export a dumb buffer and map it into a kernel importer (importer_test2)") { exporter, width, height, bpp, json };
        cmd.SetAction(pr => ImporterTest.Run(pr.GetValue(exporter)!, pr.GetValue(width), pr.GetValue(height), pr.GetValue(bpp), Console.Out, Console.Error, pr.GetValue(json)));
        return cmd;
    }
}
