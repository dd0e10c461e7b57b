using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>The <c>importer-test</c> verb: its options, then <see cref="ImporterTest"/>.</summary>
internal static class ImporterTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var exporter = new Option<string>("--exporter") { Description = "cma (pl111, GEM DMA helpers) or pages (page-array exporter)", DefaultValueFactory = _ => "cma" };
        exporter.AcceptOnlyFromAmong("cma", "pages");
        var width = new Option<uint>("--width") { Description = "dumb buffer width", DefaultValueFactory = _ => 640 };
        var height = new Option<uint>("--height") { Description = "dumb buffer height", DefaultValueFactory = _ => 480 };
        var bpp = new Option<uint>("--bpp") { Description = "bits per pixel", DefaultValueFactory = _ => 32 };
        var cmd = new Command("importer-test", "Export a dumb buffer and map it into a kernel importer (importer_test2)") { exporter, width, height, bpp };
        cmd.SetAction(pr => ImporterTest.Run(pr.GetValue(exporter)!, pr.GetValue(width), pr.GetValue(height), pr.GetValue(bpp), Console.Out, Console.Error));
        return cmd;
    }
}
