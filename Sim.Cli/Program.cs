using System.CommandLine;
using Sim.Cli;

var root = new RootCommand("dmabufsim: a full-system simulator of the Linux DRM + DMA-BUF stack (Linux 6.1 and 6.12 profiles)");
root.Add(ReplayCommand.Create());
root.Add(DiffKernelsCommand.Create());
root.Add(DiffCommand.Create());
root.Add(KvmfrTestCommand.Create());
root.Add(RunCommand.Create());
root.Add(ImporterTestCommand.Create());
root.Add(TourCommand.Create());
root.Add(ShowCommand.Create());
root.Add(RealKernelCommand.Create());
root.Add(DiffTestCommand.Create());
root.Add(CaptureCommand.Create());
root.Add(StressCommand.Create());
root.Add(SweepCommand.Create());
Conventions.RefuseUnknownOptionsAsArguments(root);

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    return Conventions.ReportParseErrors(root, parse, Console.Error);
}
return parse.Action is System.CommandLine.Help.HelpAction ? Conventions.WriteHelp(root, parse, Console.Out) : parse.Invoke();
