#!/usr/bin/env python3
"""The fusevm benchmark runner: how to run, read and extend it is in
bench/README.md. Python standard library only.

Every workload is a .fasm program in bench/ plus the same algorithm in C
(bench/c, compiled with gcc -O2 by this script) and in Lua (bench/lua, run by
lua5.4, by LuaJIT's interpreter and by LuaJIT). Each program prints a
checksum as its last line; a wrong checksum fails the run.
"""

import argparse
import codecs
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Execution modes of fusevm: (column name, options given to `fusevm run`
# before FILE). `--jit=block` compiles each region on its first entry
# (the command runs its program once); `--jit=trace` records each loop once
# its header was reached 50 times; `--jit=auto` uses both; `default` is
# what `fusevm run` does without the option (auto).
MODES = [
    ("interp", ["--jit=off"]),
    ("block", ["--jit=block"]),
    ("trace", ["--jit=trace"]),
    ("auto", ["--jit=auto"]),
    ("default", []),
]

# The runner never reads or writes the user's JIT disk cache: every command
# it starts gets FUSEVM_JIT_CACHE_DIR=off unless the caller set the variable,
# so a block-tier time is a compile and a run, never a load from a cache
# that an earlier run filled.
CACHE_ENV = "FUSEVM_JIT_CACHE_DIR"

# The linear JIT tier is a mode of its own: it compiles a straight-line
# chunk, which no workload above is (each loops), so it runs in-process
# through bench/jit_linear.c, built against the static library: upstream's
# jit_vs_interp kernels through fvm_jit_try_run_linear against the same
# computation in C and the interpreter, and the tier's compile times.
LINEAR = "linear"
LINEAR_CALLS = (200_000, 20_000)   # calls per kernel (full, quick)
LINEAR_COMPILES = (51, 11)         # compiles per compile-time figure
LINEAR_KERNELS = ["slot_add", "slot_mixed", "slot_bitwise", "slot_float"]

# The block tier's figures: the block mode against C on the workloads
# without calls (the tier compiles their whole loop), with its targets, and
# its compile latency and disk cache through bench/jit_block.c (run with
# the block mode; the harness carries its own targets).
BLOCK = "block"
BLOCK_WORKLOADS = ["sum_loop", "nested_loop", "dispatch_counter", "loop_with_branch",
                   "slot_mixed", "slot_bitwise", "slot_float"]
BLOCK_TARGET = 1.3           # each workload: block time / C time at most this
BLOCK_GEOMEAN_TARGET = 1.15  # and their geometric mean at most this
BLOCK_COMPILES = (201, 21)   # chunks per compile-latency figure (full, quick)
BLOCK_LATENCY = [("memory", "compile + executable (disk cache off)"),
                 ("store", "compile + write to the disk cache"),
                 ("load", "load from the disk cache")]
# The kernel's part alone, no JIT (bench/jit_block.c): a load's system
# calls and a store's file operations, in the same run, so the report shows
# how much of the load and store figures was the kernel at the time.
BASELINES = [("calls", "system calls alone: a load's open+fstat+read+close+pwrite"),
             ("fs", "file system alone: a store's create+write+rename")]

M64 = 1 << 64


def wrap64(x):
    """x as a two's complement 64-bit integer."""
    x %= M64
    return x - M64 if x >= 1 << 63 else x


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def prime_count(n):
    """The number of primes up to n (a bytearray sieve)."""
    flags = bytearray([1]) * (n + 1)
    for i in range(2, math.isqrt(n) + 1):
        if flags[i]:
            flags[i * i::i] = bytes(len(range(i * i, n + 1, i)))
    return sum(flags[2:])


def heapsort_check(n):
    """array_sum_sort's checksum: n numbers of the Shootout's gen_random LCG
    (seed 42), sorted, as the sum of a[i] * i (1-based)."""
    last, a = 42, []
    for _ in range(n):
        last = (last * 3877 + 29573) % 139968
        a.append(last)
    return sum(v * i for i, v in enumerate(sorted(a), 1))


def gcd_sum(n):
    """The sum of gcd(i, j) over 1 <= i, j <= n, as the sum over d of
    phi(d) * (n // d)^2 (Euler's totient by a sieve)."""
    phi = list(range(n + 1))
    for p in range(2, n + 1):
        if phi[p] == p:
            for k in range(p, n + 1, p):
                phi[k] -= phi[k] // p
    return sum(phi[d] * (n // d) ** 2 for d in range(1, n + 1))


def hash_ops_check(rounds, n):
    """hash_ops's total, with a dict: per round, insert "k0".."k<n-1>", add
    the values of n lookups (half absent), delete every third key, add the
    number of keys left."""
    total = 0
    for r in range(rounds):
        h = {"k%d" % i: i for i in range(n)}
        total += sum(h.get("k%d" % ((i * 7 + r) % (2 * n)), 0) for i in range(n))
        for i in range(0, n, 3):
            del h["k%d" % i]
        total += len(h)
    return total


def str_slices_check(lines):
    """str_slices's sum: the pangram rotated by r, rot13, reversed; AWK's
    1-based index (0 when absent) of "gur" and "kbs", plus the length."""
    text = "the quick brown fox jumps over the lazy dog "
    total = 0
    for r in range(lines):
        k = r % len(text)
        enc = codecs.encode(text[k:] + text[:k], "rot13")
        rev = enc[::-1]
        total += enc.find("gur") + 1 + rev.find("kbs") + 1 + len(rev)
    return total


def slot_mixed_sum(n):
    """Sum over x in 0..n of 100 x (x*3 + 7 - 2), wrapped: each step is
    affine, so the kernel is x*A + B and the sum has a closed form."""
    a, b = 1, 0
    for _ in range(100):
        a, b = a * 3 % M64, (b * 3 + 5) % M64
    return wrap64(a * (n * (n - 1) // 2) + b * n)


def slot_bitwise_sum(n):
    """Sum over x in 0..n of 200 x (((x & 0xFF) << 3) ^ 0x1234): the result
    depends on x & 0xFF only."""
    table = []
    for low in range(256):
        x = low
        for _ in range(200):
            x = ((x & 0xFF) << 3) ^ 0x1234
        table.append(x)
    full, rest = divmod(n, 256)
    return full * sum(table) + sum(table[:rest])


def linear_kernel_values(name, n):
    """What jit_linear.c's kernel `name` returns for slot0 = 0..n-1, as the
    numbers it sums (None when only C can say: slot_float)."""
    if name == "slot_add":
        return (float(i + 100) for i in range(n))
    if name == "slot_mixed":
        a, b = 1, 0
        for _ in range(100):
            a, b = a * 3 % M64, (b * 3 + 5) % M64
        return (float(wrap64(a * i + b)) for i in range(n))
    if name == "slot_bitwise":
        table = []
        for low in range(256):
            x = low
            for _ in range(200):
                x = ((x & 0xFF) << 3) ^ 0x1234
            table.append(float(x))
        return (table[i & 0xFF] for i in range(n))
    return None


def linear_checksum(name, n):
    """The sum jit_linear.c accumulates (in the same order, in doubles)."""
    values = linear_kernel_values(name, n)
    if values is None:
        return None
    total = 0.0
    for v in values:
        total += v
    return total


class Workload:
    """One benchmark.

    sizes   (full, quick) pairs, in the order the C and Lua programs take
            them as arguments; each full value is written literally in the
            .fasm, and --quick replaces it with the quick value there.
    expect  function of the sizes giving the checksum, or None to take the
            C program's output as the reference.
    c, lua  baseline names in bench/c and bench/lua (None: there is none).
    skip    {peer: reason} for peers that run but are left out on purpose.
    nops    function of the sizes giving the number of Nops executed, for
            the dispatch rate.
    """

    def __init__(self, name, sizes, expect, c=None, lua=None, skip=None, nops=None):
        self.name = name
        self.sizes = sizes
        self.expect = expect
        self.c = c
        self.lua = lua
        self.skip = skip or {}
        self.nops = nops

    def size_values(self, quick):
        return [q if quick else f for f, q in self.sizes]


NO_BASELINE = ("no C or Lua equivalent: it measures the interpreter's dispatch itself")

WORKLOADS = [
    Workload("fib_iterative", [(1_000_000, 100_000)], lambda reps: reps * fib(35),
             c="fib_iterative", lua="fib_iterative"),
    Workload("fib_recursive", [(35, 28)], fib, c="fib_recursive", lua="fib_recursive"),
    Workload("ackermann", [(1500, 150)], lambda reps: reps * 125,
             c="ackermann", lua="ackermann"),
    Workload("sum_loop_fused", [(100_000_000, 10_000_000)], lambda n: n * (n - 1) // 2,
             c="sum_loop", lua="sum_loop"),
    Workload("sum_loop", [(100_000_000, 10_000_000)], lambda n: n * (n - 1) // 2,
             c="sum_loop", lua="sum_loop"),
    Workload("nested_loop", [(50, 5), (1000, 1000)], lambda reps, n: reps * n * n * (n - 1),
             c="nested_loop", lua="nested_loop"),
    Workload("dispatch_counter", [(30_000_000, 3_000_000)], lambda n: n,
             c="dispatch_counter", lua="dispatch_counter"),
    Workload("dispatch_nop", [(1_000_000, 100_000)], lambda passes: passes,
             skip={"C": NO_BASELINE, "lua": NO_BASELINE},
             nops=lambda passes: 1000 * passes),
    Workload("loop_with_branch", [(20_000_000, 2_000_000)], lambda n: n,
             c="loop_with_branch", lua="loop_with_branch"),
    Workload("string_build", [(5000, 500), (10_000, 10_000)], lambda reps, n: reps * (n + 1),
             c="string_build", lua="string_build"),
    Workload("slot_mixed", [(600_000, 60_000)], slot_mixed_sum,
             c="slot_mixed", lua="slot_mixed",
             skip={"luajit -joff": "LuaJIT has no 64-bit integers; its interpreter boxes every "
                                   "int64_t cdata result (about 60x slower than lua5.4), which "
                                   "says nothing about dispatch"}),
    Workload("slot_bitwise", [(150_000, 15_000)], slot_bitwise_sum,
             c="slot_bitwise", lua="slot_bitwise"),
    Workload("slot_float", [(200_000, 20_000)], None, c="slot_float", lua="slot_float"),
    # Programs of the kinds language frontends emit (bench/README.md): the
    # checksum is computed here where that is cheap, else C's is the reference.
    Workload("nbody", [(100_000, 10_000)], None, c="nbody", lua="nbody"),
    Workload("spectral_norm", [(350, 100)], None, c="spectral_norm", lua="spectral_norm"),
    Workload("mandelbrot", [(400, 100)], None, c="mandelbrot", lua="mandelbrot"),
    Workload("sieve", [(30, 5), (200_000, 50_000)], lambda reps, n: reps * prime_count(n),
             c="sieve", lua="sieve"),
    Workload("array_sum_sort", [(300_001, 30_001)], heapsort_check,
             c="array_sum_sort", lua="array_sum_sort"),
    Workload("tak", [(300, 30)], lambda reps: reps * 7, c="tak", lua="tak"),
    Workload("binomial", [(26, 22), (13, 11)], math.comb, c="binomial", lua="binomial"),
    Workload("collatz", [(200_000, 20_000)], None, c="collatz", lua="collatz"),
    Workload("gcd_sum", [(1800, 300)], gcd_sum, c="gcd_sum", lua="gcd_sum"),
    Workload("word_freq", [(50_000, 5000)], None, c="word_freq", lua="word_freq"),
    Workload("hash_ops", [(40, 4), (20_000, 10_000)], hash_ops_check,
             c="hash_ops", lua="hash_ops"),
    Workload("str_slices", [(30_000, 3000)], str_slices_check,
             c="str_slices", lua="str_slices"),
]

# Run like a workload, reported as the start-up time of each peer.
STARTUP = Workload("empty", [], lambda: 0, c="empty", lua="empty")

# ----------------------------------------------------------------------------
# Peers: the programs that run a workload


class Peer:
    """A column: name, kind ("C", "fusevm" or "lua") and how to build its
    command line for a workload (None when it has no program for it)."""

    def __init__(self, name, kind, command):
        self.name = name
        self.kind = kind
        self.command = command

    def skip_reason(self, w):
        return w.skip.get(self.name) or w.skip.get(self.kind)


def compile_c(gcc, src, out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [gcc, "-std=c11", "-O2", "-Wall", "-Wextra", "-o", out, src, "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit("compiling %s failed:\n%s" % (src, res.stderr))
    return out


def compile_baselines(gcc, build_dir, names):
    """Compile the C baselines; returns {name: binary}."""
    return {name: compile_c(gcc, os.path.join(HERE, "c", name + ".c"),
                            os.path.join(build_dir, "c", name))
            for name in sorted(names)}


def lua_source(name, jit):
    """bench/lua/NAME.lua, or NAME.luajit.lua for LuaJIT when there is one
    (LuaJIT lacks Lua 5.4's integers and bit operators)."""
    if jit:
        special = os.path.join(HERE, "lua", name + ".luajit.lua")
        if os.path.exists(special):
            return special
    return os.path.join(HERE, "lua", name + ".lua")


def make_peers(args, workloads, fasm_path, log):
    sizes = lambda w: [str(s) for s in w.size_values(args.quick)]
    peers = []
    if args.gcc:
        bins = compile_baselines(args.gcc, args.build_dir, {w.c for w in workloads if w.c})
        peers.append(Peer("C", "C", lambda w: [bins[w.c]] + sizes(w) if w.c else None))
    else:
        log("gcc not found: skipping the C baselines (no ratios to C)")
    if not os.access(args.fusevm, os.X_OK):
        raise SystemExit("%s not found: build it with make" % args.fusevm)
    for mode, extra in MODES:
        if args.modes and mode not in args.modes:
            continue
        peers.append(Peer(mode, "fusevm",
                          lambda w, extra=extra: [args.fusevm, "run"] + extra + [fasm_path(w)]))
    lua_peers = [("lua5.4", "lua5.4", [], False),
                 ("luajit -joff", "luajit", ["-joff"], True),
                 ("luajit", "luajit", [], True)]
    missing = set()
    for name, exe, flags, jit in lua_peers:
        path = shutil.which(exe)
        if not path:
            if exe not in missing:
                log("%s not found: skipping" % exe)
            missing.add(exe)
            continue
        peers.append(Peer(name, "lua", lambda w, path=path, flags=flags, jit=jit:
                          [path] + flags + [lua_source(w.lua, jit)] + sizes(w) if w.lua else None))
    return peers


# ----------------------------------------------------------------------------
# Quick sizes: the .fasm with its size literals replaced


def split_comment(line):
    """(code, comment) of an assembly line: ';' or '#' outside a string."""
    in_str = False
    i = 0
    while i < len(line):
        ch = line[i]
        if in_str and ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_str = not in_str
        elif not in_str and ch in ";#":
            return line[:i], line[i:]
        i += 1
    return line, ""


def rewrite_sizes(w, quick):
    """The text of bench/NAME.fasm with each full size replaced by its
    quick one (in code only, never in comments). Fails when a full size is
    not written in the file, so the table and the program cannot drift."""
    path = os.path.join(HERE, w.name + ".fasm")
    with open(path) as f:
        lines = f.read().split("\n")
    subst = {str(full): str(q if quick else full) for full, q in w.sizes}
    if not subst:
        return "\n".join(lines)
    token = re.compile(r"(?<![\w.$])(%s)(?![\w.])" % "|".join(map(re.escape, subst)))
    seen = set()

    def replace(m):
        seen.add(m.group(1))
        return subst[m.group(1)]

    out = []
    for line in lines:
        code, comment = split_comment(line)
        out.append(token.sub(replace, code) + comment)
    missing = sorted(set(subst) - seen, key=int)
    if missing:
        raise SystemExit("%s: size %s from the workload table is not in the program"
                         % (path, ", ".join(missing)))
    return "\n".join(out)


def fasm_paths(workloads, args):
    """{name: path of the program to run}; quick programs are written to
    the build directory."""
    paths = {}
    out_dir = os.path.join(args.build_dir, "quick")
    for w in workloads:
        text = rewrite_sizes(w, args.quick)
        if not args.quick:
            paths[w.name] = os.path.join(HERE, w.name + ".fasm")
            continue
        os.makedirs(out_dir, exist_ok=True)
        paths[w.name] = os.path.join(out_dir, w.name + ".fasm")
        with open(paths[w.name], "w") as f:
            f.write(text)
    return paths


# ----------------------------------------------------------------------------
# Running


def run_once(argv, timeout, spawn):
    """Run argv; returns (seconds, max RSS in KiB, status, stdout, stderr),
    status being the exit code or "timeout"."""
    if spawn:
        return run_spawned(argv, timeout, spawn)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        timed_out = []
        start = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

        def kill():
            timed_out.append(True)
            p.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, wstatus, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - start
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(wstatus)
        out.seek(0)
        err.seek(0)
        status = "timeout" if timed_out else p.returncode
        return (elapsed, usage.ru_maxrss, status,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def run_spawned(argv, timeout, spawn):
    """run_once through bench/spawn.c, which measures the command alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as result:
        subprocess.run([spawn, str(timeout), result.name] + argv,
                       stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        fields = result.read().split()
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
        if len(fields) != 3:
            return 0.0, 0, "spawn failed", stdout, stderr
        status = fields[0] if fields[0] == "timeout" else int(fields[0])
        return float(fields[2]), int(fields[1]), status, stdout, stderr


class Cell:
    """What one peer did on one workload."""

    def __init__(self):
        self.status = "ok"  # ok, skip, wrong, fail, timeout, unchecked
        self.reason = ""
        self.times = []
        self.rss_kib = []
        self.outputs = []

    @property
    def median(self):
        return statistics.median(self.times) if self.times else None

    def to_json(self):
        d = {"status": self.status}
        if self.reason:
            d["reason"] = self.reason
        if self.times:
            d.update(median_s=self.median, times_s=self.times,
                     max_rss_kib=max(self.rss_kib), checksum=self.outputs[0])
        return d


def last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_workload(w, peers, args):
    """All runs of one workload, peers interleaved so a noisy moment on the
    machine hits every peer alike; then the checksums are checked."""
    cells = {p.name: Cell() for p in peers}
    commands = {}
    for p in peers:
        reason = p.skip_reason(w)
        argv = None if reason else p.command(w)
        if argv is None:
            cells[p.name].status = "skip"
            cells[p.name].reason = reason or "no %s program for this workload" % p.kind
        commands[p.name] = argv
    for _ in range(args.runs):
        for p in peers:
            cell = cells[p.name]
            if cell.status != "ok":
                continue
            elapsed, rss, status, out, err = run_once(commands[p.name], args.timeout,
                                                      args.spawn)
            if status != 0:
                cell.status = "timeout" if status == "timeout" else "fail"
                detail = last_line(err) or last_line(out)
                cell.reason = ("exceeded %g s" % args.timeout if status == "timeout"
                               else "exit status %s: %s" % (status, detail))
                continue
            cell.times.append(elapsed)
            cell.rss_kib.append(rss)
            cell.outputs.append(last_line(out))
    check(w, cells, args.quick)
    return cells


def check(w, cells, quick):
    if w.expect is not None:
        ref = str(w.expect(*w.size_values(quick)))
    elif "C" in cells and cells["C"].status == "ok":
        ref = cells["C"].outputs[0]
    else:
        ref = None
    for cell in cells.values():
        if cell.status != "ok":
            continue
        if ref is None:
            cell.status, cell.reason = "unchecked", "no reference checksum (C did not run)"
        elif any(o != ref for o in cell.outputs):
            bad = next(o for o in cell.outputs if o != ref)
            cell.status, cell.reason = "wrong", "printed %r, expected %s" % (bad, ref)


# ----------------------------------------------------------------------------
# Report


def fmt_time(s):
    return "%.3f" % s if s < 10 else "%.2f" % s


def fmt_ratio(r):
    if r is None:
        return "-"
    return "%.2f" % r if r < 10 else "%.1f" % r if r < 100 else "%.0f" % r


def cell_text(cell, value):
    if cell.status in ("ok", "unchecked"):
        return value
    return {"skip": "-", "wrong": "WRONG", "fail": "FAIL", "timeout": "TIMEOUT"}[cell.status]


def ratio(cells, num, den):
    a, b = cells.get(num), cells.get(den)
    if not a or not b or a.status != "ok" or b.status != "ok":
        return None
    return a.median / b.median


def geomean(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def print_table(header, rows, out):
    widths = [max(len(str(r[i])) for r in [header] + rows if r is not None)
              for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                               for i, c in enumerate(r))
    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        if r is None:
            print("  ".join("-" * w for w in widths), file=out)
        else:
            print(line(r), file=out)


def ratio_columns(peers):
    """(title, numerator, denominator) of each ratio column."""
    names = [p.name for p in peers]
    modes = [p.name for p in peers if p.kind == "fusevm"]
    cols = []
    if "C" in names:
        cols += [(m + " xC", m, "C") for m in modes]
        cols += [(n + " xC", n, "C") for n in ("lua5.4", "luajit -joff", "luajit") if n in names]
    if "luajit -joff" in names:
        cols += [(m + " / lj-joff", m, "luajit -joff") for m in modes]
    return cols


def report(results, startup, peers, args, info, out):
    names = [p.name for p in peers]
    modes = [p.name for p in peers if p.kind == "fusevm"]
    print("", file=out)
    print("fusevm benchmarks (%s sizes): median of %d run%s, wall time in seconds"
          % ("quick" if args.quick else "full", args.runs, "" if args.runs == 1 else "s"), file=out)
    print("host: %s, %d cores, load average %s at start, %s at end; fusevm %s"
          % (info["cpu"], info["cores"], info["load_start"], info["load_end"], info["commit"]),
          file=out)
    print(info["jit_cache"], file=out)
    if info["load_start"] > 1.0:
        print("note: other processes were busy at the start (load above 1); "
              "figures are noisier than usual", file=out)
    print("start-up (empty program): " + ", ".join(
        "%s %s" % (n, cell_text(startup[n], "%.1f ms" % (startup[n].median * 1000))
                   if startup[n].times else cell_text(startup[n], ""))
        for n in names), file=out)
    print("ratios are time / C time (lower is better); X / lj-joff is fusevm's time over "
          "LuaJIT's interpreter's", file=out)
    print("", file=out)

    rcols = ratio_columns(peers)
    header = ["workload"]
    if "C" in names:
        header.append("C s")
    header += [m + " s" for m in modes] + [t for t, _, _ in rcols]
    rows = []
    for name, cells in results.items():
        row = [name]
        if "C" in names:
            c = cells["C"]
            row.append(cell_text(c, fmt_time(c.median) if c.times else ""))
        for m in modes:
            c = cells[m]
            row.append(cell_text(c, fmt_time(c.median) if c.times else ""))
        for _, num, den in rcols:
            r = ratio(cells, num, den)
            row.append(fmt_ratio(r) if r is not None else
                       cell_text(cells[num], "-") if cells[num].status != "ok" else "-")
        rows.append(row)
    gm = ["geometric mean"] + [""] * (len(header) - 1 - len(rcols))
    gm += [fmt_ratio(geomean(ratio(cells, num, den) for cells in results.values()))
           for _, num, den in rcols]
    rows += [None, gm]
    print_table(header, rows, out)

    print("", file=out)
    print("median wall time of every peer (s)", file=out)
    rows = [[name] + [cell_text(cells[n], fmt_time(cells[n].median) if cells[n].times else "")
                      for n in names] for name, cells in results.items()]
    print_table(["workload"] + names, rows, out)

    print("", file=out)
    print("peak memory (max RSS over the runs, MiB)", file=out)
    rows = [[name] + [cell_text(cells[n], "%.1f" % (max(cells[n].rss_kib) / 1024))
                      if cells[n].rss_kib else cell_text(cells[n], "") for n in names]
            for name, cells in list(results.items()) + [("empty", startup)]]
    print_table(["workload"] + names, rows, out)

    print("", file=out)
    for w in WORKLOADS:
        if w.nops and w.name in results:
            n = w.nops(*w.size_values(args.quick))
            for m in modes:
                c = results[w.name][m]
                if c.status == "ok":
                    print("dispatch rate (%s, %s, %.3g Nops): %.3g G Nops/s (%.3f s)"
                          % (w.name, m, n, n / c.median / 1e9, c.median), file=out)
    if getattr(args, "jump_ceiling", None):
        print("dispatch ceiling of this CPU (one indirect jump per op, bench/c/jump_ceiling.c):"
              " %.3g G jumps/s" % args.jump_ceiling, file=out)

    notes = {}
    for name, cells in list(results.items()) + [("empty", startup)]:
        for n in names:
            c = cells[n]
            if c.status != "ok":
                notes.setdefault((name, c.status, c.reason), []).append(n)
    if notes:
        print("", file=out)
    for (name, status, reason), who in notes.items():
        print("%s (%s): %s: %s" % (name, ", ".join(who), status, reason), file=out)


def jump_ceiling(args):
    """G indirect jumps per second of a bare threaded-code chain (the best
    dispatch rate any interpreter can reach here), or None without gcc."""
    if not args.gcc:
        return None
    exe = compile_c(args.gcc, os.path.join(HERE, "c", "jump_ceiling.c"),
                    os.path.join(args.build_dir, "jump_ceiling"))
    if not exe:
        return None
    rounds = "100000" if args.quick else "1000000"
    best = None
    for _ in range(1 if args.quick else 3):
        out = subprocess.run([exe, rounds], capture_output=True, text=True, check=False)
        try:
            rate = float(out.stdout.strip())
        except ValueError:
            return None
        best = rate if best is None else max(best, rate)
    return best


# ----------------------------------------------------------------------------
# The linear JIT tier (in-process, bench/jit_linear.c)


def run_harness(args, name, argv, runs_inside=False):
    """Build bench/NAME.c against the static library and run it args.runs
    times with argv (or, runs_inside, once with --runs args.runs: the
    harness then prints one JSON document per run, one per line); returns
    (result, runs): result a dict with status ("ok", "skip", "fail") and
    reason, runs the JSON each run printed."""
    res = {"status": "ok", "reason": ""}
    if not args.gcc:
        return dict(res, status="skip", reason="gcc not found"), []
    if not os.path.exists(args.lib):
        return dict(res, status="skip", reason="%s not found: build it with make" % args.lib), []
    exe = os.path.join(args.build_dir, name)
    os.makedirs(args.build_dir, exist_ok=True)
    cmd = [args.gcc, "-std=c11", "-O2", "-Wall", "-Wextra", "-I", os.path.join(ROOT, "include"),
           "-o", exe, os.path.join(HERE, name + ".c"), args.lib, "-lm"]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0:
        return dict(res, status="fail", reason="compiling %s.c failed: %s"
                    % (name, last_line(built.stderr))), []
    runs = []
    extra = ["--runs", str(args.runs)] if runs_inside else []
    for _ in range(1 if runs_inside else args.runs):
        out = subprocess.run([exe] + argv + extra + ["--json"], capture_output=True, text=True,
                             timeout=args.timeout * (args.runs if runs_inside else 1))
        try:
            docs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        except ValueError:
            docs = []
        if not docs:
            return dict(res, status="fail", reason="exit status %d: %s"
                        % (out.returncode, last_line(out.stderr) or last_line(out.stdout))), runs
        runs.extend(docs)
        if out.returncode != 0:
            break
    return res, runs


def run_linear(args, log):
    """Run bench/jit_linear.c (run_harness). Returns a dict: status ("ok",
    "skip", "fail", "wrong"), reason, and with results the median of every
    figure per kernel and per compile size, each run's figures, and the
    checksums."""
    calls = LINEAR_CALLS[1 if args.quick else 0]
    compiles = LINEAR_COMPILES[1 if args.quick else 0]
    res, runs = run_harness(args, "jit_linear", [str(calls), str(compiles)])
    if res["status"] != "ok":
        return res
    res["calls"], res["runs"] = calls, runs
    res["kernels"] = {}
    for name in LINEAR_KERNELS:
        per_run = [r["kernels"][name] for r in runs]
        k = {f: statistics.median(r[f] for r in per_run) for f in ("c_ns", "linear_ns", "interp_ns")}
        k["checksum"] = per_run[0]["sum_c"]
        expect = linear_checksum(name, calls)
        bad = next((r for r in per_run if not r["agree"] or r["native"] != calls), None)
        if bad:
            k["status"] = "wrong"
            k["reason"] = ("sums C %r, linear %r, interpreter %r; %d of %d calls native"
                           % (bad["sum_c"], bad["sum_linear"], bad["sum_interp"], bad["native"],
                              calls))
        elif expect is not None and any(r["sum_c"] != expect for r in per_run):
            k["status"] = "wrong"
            k["reason"] = "sum %r, expected %r" % (per_run[0]["sum_c"], expect)
        else:
            k["status"] = "ok" if expect is not None else "ok (C, linear and interpreter agree)"
        res["kernels"][name] = k
        if k["status"] == "wrong":
            res["status"], res["reason"] = "wrong", "%s: %s" % (name, k["reason"])
    res["compile"] = [{"ops": c["ops"],
                       "steady_ns": statistics.median(r["compile"][i]["steady_ns"] for r in runs),
                       "first_ns": statistics.median(r["compile"][i]["first_ns"] for r in runs)}
                      for i, c in enumerate(runs[0]["compile"])]
    log("%-17s " % LINEAR + "  ".join("%s %.1f ns" % (name, res["kernels"][name]["linear_ns"])
                                      for name in LINEAR_KERNELS))
    return res


def report_linear(res, args, out):
    print("", file=out)
    if res["status"] == "skip":
        print("linear JIT tier: skipped: %s" % res["reason"], file=out)
        return
    if "kernels" not in res:
        print("linear JIT tier: FAIL: %s" % res["reason"], file=out)
        return
    print("linear JIT tier (bench/jit_linear.c, in-process): median of %d run%s, %d calls per "
          "kernel, time per call in ns" % (len(res["runs"]), "" if len(res["runs"]) == 1 else "s",
                                            res["calls"]), file=out)
    rows = []
    for name in LINEAR_KERNELS:
        k = res["kernels"][name]
        rows.append([name, "%.1f" % k["c_ns"], "%.1f" % k["linear_ns"], "%.1f" % k["interp_ns"],
                     fmt_ratio(k["linear_ns"] / k["c_ns"]), fmt_ratio(k["interp_ns"] / k["linear_ns"]),
                     "WRONG" if k["status"] == "wrong" else "ok"])
    print_table(["kernel", "C", "linear", "interp", "linear xC", "interp / linear", "checksum"],
                rows, out)
    for c in res["compile"]:
        print("compile %d ops: %.1f us (%.0f ns per op) in a warm context; %.1f us as a fresh "
              "context's first compile (maps its code memory)"
              % (c["ops"], c["steady_ns"] / 1e3, c["steady_ns"] / c["ops"], c["first_ns"] / 1e3),
              file=out)
    if res["status"] != "ok":
        print("linear JIT tier: %s: %s" % (res["status"].upper(), res["reason"]), file=out)


# ----------------------------------------------------------------------------
# The block JIT tier: its figures against C, its compile latency and disk
# cache (in-process, bench/jit_block.c)


def block_ratios(results):
    """The block mode against C on BLOCK_WORKLOADS (those that ran), with
    the targets: a dict for the report and the JSON results."""
    rows = {}
    for name in BLOCK_WORKLOADS:
        cells = results.get(name)
        if not cells or BLOCK not in cells:
            continue
        r = ratio(cells, BLOCK, "C")
        rows[name] = {"c_s": cells["C"].median if "C" in cells and cells["C"].times else None,
                      "block_s": cells[BLOCK].median if cells[BLOCK].times else None,
                      "block_x_c": r, "target": BLOCK_TARGET,
                      "met": r is not None and r <= BLOCK_TARGET}
        if r is None:
            rows[name]["status"] = next((cells[p].status + ": " + cells[p].reason
                                         for p in ("C", BLOCK)
                                         if p in cells and cells[p].status != "ok"),
                                        "no C time")
    gm = geomean(row["block_x_c"] for row in rows.values())
    complete = (len(rows) == len(BLOCK_WORKLOADS)
                and all(r["block_x_c"] is not None for r in rows.values()))
    return {"workloads": rows, "geomean": gm, "geomean_target": BLOCK_GEOMEAN_TARGET,
            "geomean_over": len([r for r in rows.values() if r["block_x_c"] is not None]),
            "geomean_met": complete and gm <= BLOCK_GEOMEAN_TARGET}


def run_block_latency(args, log):
    """Run bench/jit_block.c (run_harness). Returns a dict: status, reason
    and with results, per figure of BLOCK_LATENCY, the median over the runs
    of each run's medians (steady state and first compile), the least
    minimum, the target and whether the median meets it; and each run's
    figures."""
    compiles = BLOCK_COMPILES[1 if args.quick else 0]
    # The runs share one process, so no run's cleanup (deleting its cache
    # files) comes just before another run's stores (bench/jit_block.c).
    res, runs = run_harness(args, "jit_block", [str(compiles)], runs_inside=True)
    if res["status"] != "ok":
        return res
    res["compiles"], res["runs"], res["tmpdir"] = compiles, runs, runs[0]["tmpdir"]
    for key, _ in BLOCK_LATENCY:
        per_run = [r[key] for r in runs]
        fig = {f: statistics.median(r[f] for r in per_run)
               for f in ("median_ns", "first_median_ns")}
        fig.update(min_ns=min(r["min_ns"] for r in per_run),
                   first_min_ns=min(r["first_min_ns"] for r in per_run),
                   target_ns=per_run[0]["target_ns"])
        fig["met"] = fig["median_ns"] < fig["target_ns"]
        res[key] = fig
    for key, _ in BASELINES:
        res[key] = {"median_ns": statistics.median(r[key]["median_ns"] for r in runs),
                    "min_ns": min(r[key]["min_ns"] for r in runs)}
    # What the kernel alone does not explain, run by run: the project's own
    # part of each figure, steadier than the figures themselves.
    res["own"] = {fig: statistics.median(r[fig]["median_ns"] - r[base]["median_ns"] for r in runs)
                  for fig, base in (("load", "calls"), ("store", "fs"))}
    log("%-17s " % "block compile" + "  ".join("%s %.1f us" % (key, res[key]["median_ns"] / 1e3)
                                                for key, _ in BLOCK_LATENCY))
    return res


def run_trace_latency(args, log):
    """Run bench/jit_trace.c (run_harness): recording plus compiling a
    trace of a 50-op loop body, with a disk store, and loading it. Returns
    a dict: status, reason and the median over the runs of each figure with
    its target."""
    compiles = BLOCK_COMPILES[1 if args.quick else 0]
    res, runs = run_harness(args, "jit_trace", [str(compiles)], runs_inside=True)
    if res["status"] != "ok":
        return res
    for key in ("record_ns", "store_ns", "load_ns"):
        res[key] = statistics.median(r[key] for r in runs)
    res["record_target_ns"] = runs[0]["record_target_ns"]
    res["load_target_ns"] = runs[0]["load_target_ns"]
    res["record_met"] = res["record_ns"] < res["record_target_ns"]
    res["load_met"] = res["load_ns"] < res["load_target_ns"]
    res["compiles"], res["runs"] = compiles, runs
    log("%-17s record+compile %.1f us  store %.1f us  load %.1f us"
        % ("trace compile", res["record_ns"] / 1e3, res["store_ns"] / 1e3, res["load_ns"] / 1e3))
    return res


def report_trace_latency(res, out):
    print("", file=out)
    if res["status"] != "ok":
        print("trace tier latency: %s: %s" % (res["status"].upper(), res["reason"]), file=out)
        return
    print("trace tier latency (bench/jit_trace.c, in-process; a 50-op loop body, median of %d "
          "traces): record+compile %.1f us (target %.0f us: %s), with a disk store %.1f us, "
          "load from the disk cache %.1f us (target %.0f us: %s)"
          % (res["compiles"], res["record_ns"] / 1e3, res["record_target_ns"] / 1e3,
             met_text(res["record_met"]), res["store_ns"] / 1e3, res["load_ns"] / 1e3,
             res["load_target_ns"] / 1e3, met_text(res["load_met"])), file=out)


def met_text(met):
    return "met" if met else "NOT MET"


def report_block(ratios, latency, args, out):
    print("", file=out)
    if ratios["workloads"]:
        print("block JIT tier against gcc -O2 (workloads without calls; block xC is block time"
              " / C time)", file=out)
        if args.quick:
            print("quick sizes: start-up is most of these times; the targets are for full sizes",
                  file=out)
        rows = []
        for name, r in ratios["workloads"].items():
            rows.append([name, fmt_time(r["c_s"]) if r["c_s"] is not None else "-",
                         fmt_time(r["block_s"]) if r["block_s"] is not None else "-",
                         fmt_ratio(r["block_x_c"]), "<= %.2f" % r["target"],
                         met_text(r["met"]) if r["block_x_c"] is not None
                         else "- (%s)" % r["status"]])
        gm = ratios["geomean"]
        over = ratios["geomean_over"]
        rows += [None, ["geometric mean" + ("" if over == len(BLOCK_WORKLOADS)
                                            else " (%d of %d)" % (over, len(BLOCK_WORKLOADS))),
                        "", "", fmt_ratio(gm), "<= %.2f" % ratios["geomean_target"],
                        met_text(ratios["geomean_met"]) if gm is not None else "-"]]
        print_table(["workload", "C s", "block s", "block xC", "target", "target met"], rows, out)
    if latency is None:
        return
    if latency["status"] == "skip":
        print("block tier compile latency: skipped: %s" % latency["reason"], file=out)
        return
    if latency["status"] != "ok":
        print("block tier compile latency: FAIL: %s" % latency["reason"], file=out)
        return
    runs = len(latency["runs"])
    print("", file=out)
    print("block tier compile latency (bench/jit_block.c, in-process): the unfused sum loop,"
          " %d distinct chunks per figure, median of %d run%s, microseconds; disk cache in a"
          " new directory under %s (TMPDIR)"
          % (latency["compiles"], runs, "" if runs == 1 else "s", latency["tmpdir"]), file=out)
    rows = [[what, "%.1f" % (f["median_ns"] / 1e3), "%.1f" % (f["min_ns"] / 1e3),
             "< %g" % (f["target_ns"] / 1e3), met_text(f["met"]),
             "%.1f" % (f["first_median_ns"] / 1e3), "%.1f" % (f["first_min_ns"] / 1e3)]
            for key, what in BLOCK_LATENCY for f in [latency[key]]]
    for key, what in BASELINES:
        f = latency[key]
        rows.append([what, "%.1f" % (f["median_ns"] / 1e3), "%.1f" % (f["min_ns"] / 1e3),
                     "-", "-", "-", "-"])
    print_table(["", "median", "min", "target", "target met", "first", "first min"], rows, out)
    print("median, min: steady state (one context, one new chunk after another); first: a fresh"
          " context's first compile, which also maps its code memory. The last two rows are the"
          " kernel's part without the JIT, in the same run: a system call costs about 1 us on a"
          " VM that traps them, and creating files on ext4 without a journal slows down for"
          " minutes after many deletions", file=out)
    own = latency["own"]
    print("the rest, median over the runs of each run's difference: load - system calls %.1f us;"
          " store - file system %.1f us (the compile, the miss that precedes it and the pwrite)"
          % (own["load"] / 1e3, own["store"] / 1e3), file=out)


def host_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "commit": commit,
            "load_start": round(os.getloadavg()[0], 2)}


def main():
    ap = argparse.ArgumentParser(description="Run the fusevm benchmark suite (bench/README.md).")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes and 1 run each (CI); checksums are still checked")
    ap.add_argument("--runs", type=int, help="runs per workload and peer (default 5, quick 1)")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--modes", help="comma-separated fusevm modes (default: all of "
                    + ", ".join([m for m, _ in MODES] + [LINEAR]) + ")")
    ap.add_argument("--fusevm", default=os.path.join(ROOT, "build", "fusevm"),
                    help="the fusevm command (default build/fusevm)")
    ap.add_argument("--lib", help="the static library the linear tier's harness links "
                    "(default: libfusevm.a beside the fusevm command)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "bench"),
                    help="where C baselines and quick programs go (default build/bench)")
    ap.add_argument("--json", help="results file (default bench/results/latest.json, "
                    "latest-quick.json with --quick)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per run")
    args = ap.parse_args()
    args.runs = args.runs or (1 if args.quick else 5)
    args.modes = args.modes.split(",") if args.modes else None
    args.lib = args.lib or os.path.join(os.path.dirname(args.fusevm), "libfusevm.a")
    if args.modes:
        unknown = set(args.modes) - {m for m, _ in MODES} - {LINEAR}
        if unknown:
            raise SystemExit("unknown mode(s): %s" % ", ".join(sorted(unknown)))
    workloads = WORKLOADS
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {w.name for w in WORKLOADS}
        if unknown:
            raise SystemExit("unknown workload(s): %s" % ", ".join(sorted(unknown)))
        workloads = [w for w in WORKLOADS if w.name in wanted]

    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    info = host_info()
    if CACHE_ENV in os.environ:
        info["jit_cache"] = ("JIT disk cache: %s=%r, set by the caller (block-tier times may "
                             "include loads from it)" % (CACHE_ENV, os.environ[CACHE_ENV]))
    else:
        os.environ[CACHE_ENV] = "off"
        info["jit_cache"] = ("JIT disk cache: off for every command (%s=off): each block-tier "
                             "time includes its compiles" % CACHE_ENV)
    args.gcc = shutil.which("gcc")
    args.spawn = args.gcc and compile_c(args.gcc, os.path.join(HERE, "spawn.c"),
                                        os.path.join(args.build_dir, "spawn"))
    if not args.spawn:
        log("gcc not found: timing from Python; peak memory includes the runner's own")
    want = lambda mode: not args.modes or mode in args.modes
    if not any(want(m) for m, _ in MODES):
        workloads = []
    if workloads:
        paths = fasm_paths(workloads + [STARTUP], args)
        peers = make_peers(args, workloads + [STARTUP], lambda w: paths[w.name], log)
        startup = run_workload(STARTUP, peers, args)
    else:
        peers, startup = [], {}
    results = {}
    for w in workloads:
        cells = run_workload(w, peers, args)
        results[w.name] = cells
        log("%-17s " % w.name + "  ".join(
            "%s %s" % (p.name, cell_text(cells[p.name], fmt_time(cells[p.name].median))
                       if cells[p.name].times else cell_text(cells[p.name], ""))
            for p in peers))
    if any(w.nops for w in workloads):
        args.jump_ceiling = jump_ceiling(args)
    linear = run_linear(args, log) if want(LINEAR) else None
    latency = run_block_latency(args, log) if want(BLOCK) else None
    trace_latency = run_trace_latency(args, log) if want("trace") else None
    ratios = block_ratios(results)
    info["load_end"] = round(os.getloadavg()[0], 2)

    if workloads:
        report(results, startup, peers, args, info, sys.stdout)
    else:
        print("\nhost: %s, %d cores, load average %s at start, %s at end; fusevm %s"
              % (info["cpu"], info["cores"], info["load_start"], info["load_end"],
                 info["commit"]))
    if linear:
        report_linear(linear, args, sys.stdout)
    if ratios["workloads"] or latency:
        report_block(ratios, latency, args, sys.stdout)
    if trace_latency:
        report_trace_latency(trace_latency, sys.stdout)

    path = args.json or os.path.join(
        HERE, "results", "latest-quick.json" if args.quick else "latest.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": info,
        "quick": args.quick,
        "runs": args.runs,
        "modes": [p.name for p in peers if p.kind == "fusevm"],
        "peers": [p.name for p in peers],
        "startup": {n: c.to_json() for n, c in startup.items()},
        "workloads": {name: {"sizes": next(w.size_values(args.quick) for w in workloads
                                           if w.name == name),
                             "peers": {n: c.to_json() for n, c in cells.items()}}
                      for name, cells in results.items()},
        "geomean": {t: geomean(ratio(cells, num, den) for cells in results.values())
                    for t, num, den in ratio_columns(peers)},
    }
    for w in workloads:
        if w.nops:
            doc["workloads"][w.name]["nops"] = w.nops(*w.size_values(args.quick))
    if getattr(args, "jump_ceiling", None):
        doc["jump_ceiling_g_per_s"] = args.jump_ceiling
    if linear:
        doc[LINEAR] = linear
    if ratios["workloads"]:
        doc["block_vs_c"] = ratios
    if latency:
        doc["block_compile"] = latency
    if trace_latency:
        doc["trace_compile"] = trace_latency
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("\nresults written to %s" % os.path.relpath(path), file=sys.stderr)

    bad = [(name, n) for name, cells in list(results.items()) + [("empty", startup)]
           for n, c in cells.items() if c.status in ("wrong", "fail", "timeout", "unchecked")]
    if linear and linear["status"] in ("wrong", "fail"):
        bad.append((LINEAR, linear["reason"]))
    if trace_latency and trace_latency["status"] == "fail":
        bad.append(("trace compile latency", trace_latency["reason"]))
    if latency and latency["status"] == "fail":
        bad.append(("block compile latency", latency["reason"]))
    if bad:
        print("FAILED: " + ", ".join("%s (%s)" % b for b in bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
