using BenchmarkDotNet.Running;

// Every benchmark class of this assembly; the command line picks (--filter), the job (--job) and exporters.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
