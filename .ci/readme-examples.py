#!/usr/bin/env python3
"""The README-examples check: every example command in README.md (the lines of its ```sh blocks and every inline
`dmabufsim ...`, `dotnet ...`, `bash ...`, `make ...` span) is run on this clone, so a stale example fails CI.

Each example matches one rule below: it is run as written (`dmabufsim` is the built Release program, or the
installed .NET tool right after the README installs it), run with its placeholder filled in, parse-checked (the
same arguments with --help: the options must still exist and their values still parse) where running it needs the
real-kernel guest or tens of minutes, or named as covered by another CI step. An example that matches no rule
fails the check: a new example needs a rule. Ends with `N passed, M failed, K skipped` (K: covered elsewhere).
Usage: python3 .ci/readme-examples.py [--quick]   (--quick, as CI runs it: parse-check `sweep` and stress runs of
100,000 ops or more instead of running them; the unit tests run both verbs)
"""
import os, re, shutil, subprocess, sys, tempfile, time

repo = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
quick = '--quick' in sys.argv
dll = os.path.join(repo, 'Sim.Cli', 'bin', 'Release', 'net10.0', 'dmabufsim.dll')
work = tempfile.mkdtemp(prefix='readme-examples.')
os.symlink(os.path.join(repo, 'data'), os.path.join(work, 'data'))
home = tempfile.mkdtemp(prefix='readme-home.')  # the tool install goes to this HOME's ~/.dotnet/tools
env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT='1', DOTNET_NOLOGO='1')
env.pop('COLUMNS', None)


def examples():
    text = open(os.path.join(repo, 'README.md'), encoding='utf-8').read()
    found, block = [], False
    for line in text.split('\n'):
        if line.startswith('```'):
            block = line.strip() in ('```sh', '```bash') and not block
            continue
        if block:
            cmd = re.split(r'\s{2,}#', line)[0].strip()
            if cmd and not cmd.startswith('#'):
                found.append(cmd)
    for m in re.finditer(r'`((?:dmabufsim|dotnet|bash|make) [^`]+)`', text):
        found.append(m.group(1))
    seen, out = set(), []
    for c in found:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def dmabufsim(args):
    return ['dotnet', dll] + args


def run(argv, cwd=work, expect=0, extra_env=None, timeout=1800):
    t0 = time.time()
    p = subprocess.run(argv, cwd=cwd, env=dict(env, **(extra_env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    ok = p.returncode == expect
    return ok, f'exit {p.returncode}{"" if ok else f" (expected {expect})"}, {time.time() - t0:.0f} s', p.stdout


VERBS = ['replay', 'diff-kernels', 'diff', 'kvmfr-test', 'run', 'importer-test', 'tour', 'show', 'realkernel', 'difftest', 'capture', 'stress', 'sweep']
tool_home = {'HOME': home, 'DOTNET_CLI_HOME': home, 'NUGET_PACKAGES': os.environ.get('NUGET_PACKAGES', os.path.expanduser('~/.nuget/packages'))}


def split(cmd):
    import shlex
    return shlex.split(cmd)


def check(cmd):
    """Returns (status, how, output): status 'pass', 'fail' or 'skip'."""
    a = split(cmd) if not cmd.startswith('alias ') else []
    # The two set-up commands and the other `dotnet run --project Sim.Cli` examples: as written, from the clone's root.
    if cmd == 'dotnet run --project Sim.Cli --':
        return 'skip', 'not a full command: the prefix the README explains', ''
    if cmd.startswith('dotnet run --project Sim.Cli --'):
        return verdict(run(a, cwd=repo))
    if cmd == 'dotnet test':
        return 'skip', 'covered: the unit-test step of .ci/run runs dotnet test (in Release, with a results file)', ''
    if cmd == 'bash .ci/run':
        return 'skip', 'covered: this check is a step of it', ''
    if cmd.startswith('dotnet build Sim.Cli'):
        return verdict(run(a, cwd=repo))
    if cmd.startswith('alias dmabufsim='):
        return verdict((os.path.exists(dll), 'the alias target exists' if os.path.exists(dll) else dll + ' missing', ''))
    if cmd.startswith('dotnet pack Sim.Cli'):
        return verdict(run(a, cwd=repo, timeout=900))
    if cmd.startswith('dotnet tool install --global'):
        ok, how, out = run(a, cwd=repo, extra_env=tool_home)
        if ok:  # then: dmabufsim replay, as the README says, with the installed tool
            tool = os.path.join(home, '.dotnet', 'tools', 'dmabufsim')
            ok, how2, out2 = run([tool, 'replay', 'data/traces/linux-6.1-cma-arm'], extra_env=tool_home)
            how += f'; the installed dmabufsim replay: {how2}'
            out += out2
        return verdict((ok, how, out))
    if cmd.startswith('dotnet tool uninstall --global'):
        return verdict(run(a, cwd=repo, extra_env=tool_home))
    if cmd.startswith('gcc -o test ../shared/'):
        # The run section's program comes from the shared folder beside the clone (CI has a copy of it).
        src = a[-1].replace('../shared', os.path.join(repo, '..', 'shared'), 1)
        if not os.path.exists(src):
            return 'skip', f'{src} not found (the shared folder is not beside this clone)', ''
        return verdict(run(['gcc', '-o', os.path.join(work, 'test'), src]))
    if cmd in ('make -C tools/dmabufsim-trace', 'make -C tools/dmabufsim-run'):
        return verdict(run(a, cwd=repo))
    if cmd.startswith('dotnet run -c Release --project Benchmarks --'):
        # BenchmarkDotNet for minutes: check that the filter still selects benchmarks (--list flat runs none).
        args = a[a.index('--') + 1:]
        args = [x for x in args if x not in ('--job', 'short', '--exporters', 'json')] + ['--list', 'flat']
        ok, how, out = run(['dotnet', 'run', '-c', 'Release', '--project', 'Benchmarks', '--'] + args, cwd=repo)
        ok = ok and 'SgTrim' in out
        return verdict((ok, 'listed, not run (BenchmarkDotNet takes minutes): ' + how, out))
    if cmd == 'bash Benchmarks/run-sgtrim.sh':
        # Its BenchmarkDotNet part takes minutes: build and run its native yardstick as the script does.
        exe = os.path.join(work, 'sgtrim')
        ok, how, out = run(['gcc', '-std=gnu11', '-O2', '-march=x86-64-v2', '-Wall', '-Wextra', '-o', exe,
                            os.path.join(repo, 'Benchmarks', 'native', 'sgtrim.c')])
        if ok:
            ok, how, out = run([exe, '--reps', '1'])
        return verdict((ok, 'its native yardstick built and run, not the BenchmarkDotNet part: ' + how, out))
    if not a or a[0] != 'dmabufsim':
        return 'fail', 'no rule for this example: add one to .ci/readme-examples.py', ''
    args = a[1:]
    # Placeholders: fill them in.
    if args == ['VERB', '--help']:
        results = [run(dmabufsim([v, '--help'])) for v in VERBS]
        return verdict((all(r[0] for r in results), f'--help of all {len(VERBS)} verbs', ''.join(r[2] for r in results if not r[0])))
    if args and args[0] == 'VERB:':
        return 'skip', 'not a command: the error prefix', ''
    if args and args[0].endswith(':'):
        return 'skip', 'not a command: a line the verb prints', ''
    if args == ['run']:
        # The verb's name in the text: it needs a program, so its --help is checked.
        return verdict(run(dmabufsim(['run', '--help'])))
    if args == ['diff-kernels', 'TRACE']:
        return verdict(run(dmabufsim(['diff-kernels', 'data/traces/linux-6.1-cma-arm/prime.jsonl'])))
    args = [x.replace('~/DmaBufSim/', repo + '/') for x in args]
    verb = args[0] if args else ''
    if verb == 'run' and args[-1] == './test' and not os.path.exists(os.path.join(work, 'test')):
        return 'skip', 'its program was not built (see the gcc example above)', ''
    # The real-kernel verbs need root, QEMU and minutes: .ci/run's real-kernel step runs realkernel, capture and difftest.
    long_stress = verb == 'stress' and '--ops' in args and int(args[args.index('--ops') + 1]) >= 100_000
    if verb in ('realkernel', 'difftest', 'capture') or (verb == 'sweep' and '--full' in args) or (quick and (verb == 'sweep' or long_stress)):
        ok, how, out = run(dmabufsim(args + ['--help']))
        return verdict((ok, 'parse-checked (' + ('the real-kernel step of .ci/run runs this verb' if verb in ('realkernel', 'difftest', 'capture')
                                                  else 'takes tens of minutes' if verb == 'sweep' else '--quick') + '): ' + how, out))
    if verb == 'diff' and len(args) == 3 and args[1] != args[2]:
        # Two different traces: the example shows their differences, and diff exits 1 when there are some.
        return verdict(run(dmabufsim(args), expect=1))
    return verdict(run(dmabufsim(args)))


def verdict(r):
    ok, how, out = r
    return ('pass' if ok else 'fail'), how, out


def main():
    passed = failed = skipped = 0
    for cmd in examples():
        try:
            status, how, out = check(cmd)
        except subprocess.TimeoutExpired:
            status, how, out = 'fail', 'timed out', ''
        print(f'readme: {status:4} {cmd}  [{how}]', flush=True)
        if status == 'fail':
            failed += 1
            print('\n'.join('    ' + l for l in out.strip().split('\n')[-15:]))
        elif status == 'pass':
            passed += 1
        else:
            skipped += 1
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
