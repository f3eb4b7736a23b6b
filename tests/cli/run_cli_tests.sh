#!/usr/bin/env bash
# The fusevm command's contract: exit statuses (0 ok, 1 runtime error,
# 2 usage or input error), messages, --result output, asm/dis round trips.
#
#   tests/cli/run_cli_tests.sh [path/to/fusevm]
set -u

FUSEVM=$(realpath "${1:-build/fusevm}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

passed=0
failed=0

# expect NAME STATUS STDOUT STDERR COMMAND...: run COMMAND and compare its
# exit status, standard output and standard error exactly.
expect() {
    local name=$1 want_status=$2 want_out=$3 want_err=$4
    shift 4
    "$@" >out.txt 2>err.txt
    local status=$?
    local out err
    out=$(cat out.txt)
    err=$(cat err.txt)
    if [[ $status == "$want_status" && $out == "$want_out" && $err == "$want_err" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name"
        echo "  status: got $status, want $want_status"
        [[ $out == "$want_out" ]] || printf '  stdout: got  %q\n          want %q\n' "$out" "$want_out"
        [[ $err == "$want_err" ]] || printf '  stderr: got  %q\n          want %q\n' "$err" "$want_err"
    fi
}

# expect_match NAME STATUS STDERR_REGEX COMMAND...: status exact, stderr by
# an extended regular expression (for messages holding timings).
expect_match() {
    local name=$1 want_status=$2 want_err=$3
    shift 3
    "$@" >out.txt 2>err.txt
    local status=$?
    if [[ $status == "$want_status" ]] && grep -Eq -- "$want_err" err.txt; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name (status $status, want $want_status)"
        sed 's/^/  stderr: /' err.txt
    fi
}

# expect_stdout_match NAME REGEX COMMAND...: status 0, nothing on stderr,
# and a first line of standard output matching REGEX.
expect_stdout_match() {
    local name=$1 want_out=$2
    shift 2
    "$@" >out.txt 2>err.txt
    local status=$?
    if [[ $status == 0 && ! -s err.txt ]] && head -n 1 out.txt | grep -Eq -- "$want_out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name (status $status)"
        head -n 3 out.txt err.txt | sed 's/^/  /'
    fi
}

# ---- programs ---------------------------------------------------------------

cat >answer.fasm <<'ASM'
.source "answer"
    LoadInt 40
    LoadInt 2
    Add
    Dup
    PrintLn 1
ASM

cat >missing_builtin.fasm <<'ASM'
.name f
    LoadInt 1
    PrintLn 1

    CallBuiltin 7 0
ASM

cat >undefined_call.fasm <<'ASM'
.name f
    LoadInt 1
    PrintLn 1

    Call f 0
ASM

cat >bad_syntax.fasm <<'ASM'
    LoadInt 1
    Bogus 3
    LoadInt x
ASM

cat >no_newline.fasm <<'ASM'
    LoadConst "no newline"
    Print 1
    LoadFloat 4.5
ASM

# Every part of a chunk: pools, entries, ranges, fused ops, nested chunks.
cat >rich.fasm <<'ASM'
.source "rich"
.const [1, 2.5, "s\0t", [ref(undef)], {"k": {"n": status(-3)}}]
.const f64:7ff0000000000001
.sub sub0 body
.block 0 2
    LoadInt 0
    SetSlot 0
loop:
    SlotIncLtIntJumpBack 0, 10, loop
    GetSlot 0
    PrintLn 1
    Call sub0 0
    Jump end
body:
    LoadConst @0
    ReturnValue
end:
    CmdSubst inner
    Pop
.chunk inner
    LoadInt 1
.chunk deeper
    LoadConst "deep"
.end
.end
ASM

# ---- run ---------------------------------------------------------------------

expect "run prints" 0 "42" "" "$FUSEVM" run answer.fasm
expect "run --result" 0 $'42\nint 42' "" "$FUSEVM" run --result answer.fasm
expect "options before FILE" 0 $'42\nint 42' "" "$FUSEVM" run --result --jit=off answer.fasm
expect "result on its own line" 0 $'no newline\nfloat 4.5' "" "$FUSEVM" run --result no_newline.fasm
missing_7=$'fusevm: missing_builtin.fasm:5: CallBuiltin 7: no builtin is registered with this id\nstack traceback:\n\tmissing_builtin.fasm:5: in the main program (op 2)'
expect "runtime error" 1 "1" "$missing_7" "$FUSEVM" run missing_builtin.fasm
expect "runtime error prints no result" 1 "1" "$missing_7" "$FUSEVM" run --result missing_builtin.fasm

# An error three frames deep: where it was raised, then each caller. The
# chunk's .source names the file in messages.
cat >three.fasm <<'ASM'
    LoadInt 1
    Call first 0
    Jump end
.sub first
    Call second 0
    ReturnValue
.sub second
    LoadInt 3
    CallBuiltin 7 0
    ReturnValue
end:
ASM
expect "traceback through three frames" 1 "" \
    $'fusevm: three.fasm:9: CallBuiltin 7: no builtin is registered with this id\nstack traceback:\n\tthree.fasm:9: in sub \'second\' (op 6)\n\tthree.fasm:5: in sub \'first\' (op 3)\n\tthree.fasm:2: in the main program (op 1)' \
    "$FUSEVM" run three.fasm
{ echo '.source "prog.src"'; cat three.fasm; } >sourced.fasm
expect_match "the chunk's source name in messages" 1 "^fusevm: prog.src:10: CallBuiltin 7: no builtin is registered with this id$" \
    "$FUSEVM" run sourced.fasm
expect_match "standard input is <stdin>" 1 "^	<stdin>:2: in the main program \(op 1\)$" \
    "$FUSEVM" run - <three.fasm
expect "unresolved Call: nothing runs" 2 "" "fusevm: undefined_call.fasm:5: Call f: no sub entry with this name (op 2)" \
    "$FUSEVM" run undefined_call.fasm
expect "unresolved Call: asm writes nothing" 2 "" \
    "fusevm: undefined_call.fasm:5: Call f: no sub entry with this name (op 2)" \
    "$FUSEVM" asm undefined_call.fasm -o undefined_call.fbc
expect "unresolved Call: no file left" 1 "" "" test -e undefined_call.fbc
printf '.chunk\nCall g 0\n.end\n' >nested_call.fasm
expect "unresolved Call in a sub-chunk" 2 "" "fusevm: nested_call.fasm:2: Call g: no sub entry with this name (op 0)" \
    "$FUSEVM" run nested_call.fasm

# The program's arguments (after FILE, options included) and environment.
cat >args.fasm <<'ASM'
    ArrayLen ARGV
    LoadInt 0
    ArrayGet ARGV
    LoadInt 2
    ArrayGet ARGV
    LoadConst "FVM_TEST_VAR"
    HashGet ENV
    LoadConst "FVM_NOT_SET"
    HashExists ENV
    MakeArray 5
ASM
expect "ARGV and ENV" 0 'array [int 3, str "one", str "--result", str "a=b", bool false]' "" \
    env FVM_TEST_VAR=a=b "$FUSEVM" run --result args.fasm one "" --result
expect "no arguments: an empty ARGV" 0 'array [int 0, undef, undef, undef, bool false]' "" \
    env -u FVM_TEST_VAR "$FUSEVM" run --result args.fasm
expect "-- ends the options" 0 'array [int 1, str "x", undef, undef, bool false]' "" \
    env -u FVM_TEST_VAR "$FUSEVM" run --result -- args.fasm x
expect "option values in the next argument" 0 $'42\nint 42' "" "$FUSEVM" run --jit off --result answer.fasm
expect "-oFILE" 0 "" "" "$FUSEVM" asm answer.fasm -oglued.fbc
expect "-oFILE wrote the file" 0 "42" "" "$FUSEVM" run glued.fbc
expect "ReadLine at end of input is Undef" 0 "array [undef, str \"\"]" "" \
    bash -c "printf 'ReadLine\nLoadConst \"\"\nMakeArray 2\n' >eof.fasm; '$FUSEVM' run --result eof.fasm </dev/null"
# --unbuffered: what a program prints reaches a file or pipe before the
# program ends (here it never does: timeout stops it). Buffered, it is lost.
cat >spin.fasm <<'ASM'
    LoadConst "ready"
    PrintLn 1
top:
    Jump top
ASM
expect "unbuffered output is written at once" 124 "ready" "" timeout 0.3 "$FUSEVM" run -u spin.fasm
expect "buffered output waits for the end" 124 "" "" timeout 0.3 "$FUSEVM" run spin.fasm

printf 'LoadConst "x"\n' >str.fasm
expect "str result" 0 'str "x"' "" "$FUSEVM" run --result str.fasm
printf 'LoadConst "a\\0b\\n\\""\n' >bytes.fasm
expect "str result escapes" 0 'str "a\x00b\n\""' "" "$FUSEVM" run --result bytes.fasm
printf 'LoadUndef\n' >undef.fasm
expect "undef result" 0 "undef" "" "$FUSEVM" run --result undef.fasm
printf 'Nop\n' >empty_stack.fasm
expect "halted result" 0 "halted" "" "$FUSEVM" run --result empty_stack.fasm
printf 'LoadConst [1, 2.5, {"k": ref(true)}, status(3)]\n' >nested.fasm
expect "nested result" 0 'array [int 1, float 2.5, hash {"k": ref (bool true)}, status 3]' "" \
    "$FUSEVM" run --result nested.fasm
expect "stdin" 0 "int 7" "" bash -c "printf 'LoadInt 7\n' | '$FUSEVM' run --result -"
expect_match "stats on stderr" 0 '^fusevm: stats: 5 ops in 1 chunk, 0 constants; load [0-9.]+ ms, run [0-9.]+ ms$' \
    "$FUSEVM" run --stats answer.fasm

# ---- the scheduler: every program runs under it ---------------------------------

cat >goroutine.fasm <<'ASM'
    LoadInt 0
    ChanMake
    Dup
    SetVar ch
    Go double 1
    GetVar ch
    LoadInt 21
    ChanSend
    GetVar ch
    ChanRecv
    Jump end
.sub double
    SetSlot 0
    GetSlot 0
    ChanRecv
    LoadInt 2
    Mul
    SetSlot 1
    GetSlot 0
    GetSlot 1
    ChanSend
    Return
end:
ASM
printf '    LoadInt 0\n    ChanMake\n    ChanRecv\n' >deadlock.fasm
printf '    LoadInt 1\n    ChanMake\n    Dup\n    ChanClose\n    LoadInt 5\n    ChanSend\n' >closed.fasm
expect "goroutines and channels" 0 "int 42" "" "$FUSEVM" run --result goroutine.fasm
expect "goroutines with the JIT" 0 "int 42" "" "$FUSEVM" run --result --jit=auto goroutine.fasm
expect "deadlock: Go's message" 1 "" "fatal error: all goroutines are asleep - deadlock!" \
    "$FUSEVM" run --result deadlock.fasm
expect "send on a closed channel" 1 "" $'fusevm: closed.fasm:6: panic: send on closed channel\nstack traceback:\n\tclosed.fasm:6: in the main program (op 5)' \
    "$FUSEVM" run --result closed.fasm

# ---- JIT modes -----------------------------------------------------------------

# No disk cache unless a test names one.
export FUSEVM_JIT_CACHE_DIR=off

expect "jit off" 0 "42" "" "$FUSEVM" run --jit=off answer.fasm
expect "jit off: no JIT line in stats" 0 "0" "" \
    bash -c "'$FUSEVM' run --jit=off --stats answer.fasm 2>&1 >/dev/null | grep -c 'jit:' || true"
printf 'LoadInt 4\nLoadInt 5\nAdd\n' >sum.fasm
if "$FUSEVM" run --jit=linear sum.fasm 2>&1 | grep -q 'not available yet'; then
    expect "jit linear (not in this build)" 2 "" "fusevm: the linear tier is not available yet" \
        "$FUSEVM" run --jit=linear answer.fasm
else
    expect "jit linear result" 0 "int 9" "" "$FUSEVM" run --jit=linear --result sum.fasm
    expect_match "jit linear stats" 0 \
        '^fusevm: jit: 1 compiled, 0 failed, 0 ineligible, 0 blacklisted; compile [0-9.]+ ms; cache hits 0, negative hits 0; runs linear 1, block 0, trace 0; code [0-9]+ bytes; disk cache loads 0, stores 0$' \
        "$FUSEVM" run --jit=linear --stats sum.fasm
    expect_match "jit linear, ineligible chunk interpreted" 0 \
        '^fusevm: jit: the chunk is not eligible for the linear tier; interpreting it$' \
        "$FUSEVM" run --jit=linear --stats answer.fasm
    expect "jit linear, ineligible chunk output" 0 "42" "" "$FUSEVM" run --jit=linear answer.fasm
    printf 'GetSlot 0\nLoadInt 1\nAdd\n' >reads_slot.fasm
    expect_match "jit linear, a slot read first is Undef: the note says so" 0 \
        '^fusevm: jit: no native code for the chunk \(linear: reads a slot holding no Int, Float or Bool before writing it, and this command starts every slot as Undef\); interpreting it$' \
        "$FUSEVM" run --jit=linear --stats reads_slot.fasm
    # capstone is loaded only for this: its decoded lines follow each IR line.
    expect_match "jit linear, machine code disassembled" 0 '^    [0-9a-f]{6}  mov +' \
        "$FUSEVM" run --jit=linear --dump=asm sum.fasm
    expect_match "jit linear, IR dumped" 0 '^---- linear IR of chunk [0-9a-f]{16}$' \
        "$FUSEVM" run --jit=linear --dump=ir sum.fasm
fi
expect "dump without a JIT" 0 "42" "" "$FUSEVM" run --dump=ir,asm answer.fasm
expect "dump unknown item" 2 "" "fusevm run: unknown --dump item 'bogus' (expected ir, asm or trace)" \
    "$FUSEVM" run --dump=ir,bogus answer.fasm
expect "dump empty item" 2 "" "fusevm run: unknown --dump item '' (expected ir, asm or trace)" \
    "$FUSEVM" run --dump= answer.fasm
# The block tier: a counted loop, then a PrintLn the interpreter runs after
# the native region.
printf 'LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\nloop:\nGetSlot 0\nGetSlot 1\nAdd\nSetSlot 0\nSlotIncLtIntJumpBack 1 1000 loop\nGetSlot 0\nPrintLn 1\n' >loop.fasm
if "$FUSEVM" run --jit=block loop.fasm 2>&1 | grep -q 'not available yet'; then
    expect "jit block (not in this build)" 2 "" "fusevm: the block tier is not available yet" \
        "$FUSEVM" run --jit=block loop.fasm
    expect "jit trace (not in this build)" 2 "" "fusevm: the trace tier is not available yet" \
        "$FUSEVM" run --jit=trace loop.fasm
    expect "jit auto without tiers: interpreted" 0 "499500" "" "$FUSEVM" run --jit=auto loop.fasm
    expect_match "jit auto without tiers: nothing native" 0 '; runs linear 0, block 0, trace 0;' \
        "$FUSEVM" run --jit=auto --stats loop.fasm
    expect_match "the default mode is auto: nothing native" 0 '; runs linear 0, block 0, trace 0;' \
        "$FUSEVM" run --stats loop.fasm
else
    # The tracing tier: the loop's header is reached 1000 times, so its
    # path is recorded after 50 and the rest runs natively in one entry.
    expect "jit trace output" 0 "499500" "" "$FUSEVM" run --jit=trace loop.fasm
    expect_match "jit trace stats: one trace, one native run" 0 \
        '; runs linear 0, block 0, trace 1;' "$FUSEVM" run --jit=trace --stats loop.fasm
    expect_match "jit trace stats: the trace counters" 0 \
        '^fusevm: jit: traces 1, side traces 0, recordings given up 0$' \
        "$FUSEVM" run --jit=trace --stats loop.fasm
    expect_match "jit trace, the recording dumped" 0 '^ +8  SlotIncLtIntJumpBack 1 0$' \
        "$FUSEVM" run --jit=trace --dump=trace loop.fasm
    expect_match "jit trace, each exit counted in the dump" 0 \
        '^  exit 1 at ip 9 \(exit: a branch went the way the recording did not\): taken 1 times$' \
        "$FUSEVM" run --jit=trace --dump=trace loop.fasm
    expect_match "jit trace threshold from the environment: never hot" 0 \
        '; runs linear 0, block 0, trace 0;' \
        env FUSEVM_JIT_TRACE_THRESHOLD=5000 "$FUSEVM" run --jit=trace --stats loop.fasm
    mkdir -m 700 tracecache
    expect_match "jit trace, cold disk cache: stored" 0 'disk cache loads 0, stores 1$' \
        env FUSEVM_JIT_CACHE_DIR="$PWD/tracecache" "$FUSEVM" run --jit=trace --stats loop.fasm
    expect_match "jit trace, warm disk cache: loaded" 0 'disk cache loads 1, stores 0$' \
        env FUSEVM_JIT_CACHE_DIR="$PWD/tracecache" "$FUSEVM" run --jit=trace --stats loop.fasm
    expect_match "the default mode is auto" 0 '; runs linear 0, block 1, trace 0;' \
        "$FUSEVM" run --stats loop.fasm
    expect_match "jit off: nothing native" 0 '^fusevm: stats: ' "$FUSEVM" run --jit=off --stats loop.fasm
    expect "jit block output" 0 "499500" "" "$FUSEVM" run --jit=block loop.fasm
    expect_match "jit block stats" 0 \
        '^fusevm: jit: 1 compiled, 0 failed, 0 ineligible, 0 blacklisted; compile [0-9.]+ ms; cache hits 0, negative hits 0; runs linear 0, block 1, trace 0; code [0-9]+ bytes; disk cache loads 0, stores 0$' \
        "$FUSEVM" run --jit=block --stats loop.fasm
    expect_match "jit block threshold from the environment: no compile on the first entry" 0 \
        '; runs linear 0, block 0, trace 0;' \
        env FUSEVM_JIT_BLOCK_THRESHOLD=1 "$FUSEVM" run --jit=block --stats loop.fasm
    expect_match "jit block, IR dumped" 0 '^---- block IR of chunk [0-9a-f]{16}$' \
        "$FUSEVM" run --jit=block --dump=ir loop.fasm
    expect_match "jit block, machine code disassembled" 0 '^    [0-9a-f]{6}  add +' \
        "$FUSEVM" run --jit=block --dump=asm loop.fasm
    expect "jit auto, a loop: block" 0 "499500" "" "$FUSEVM" run --jit=auto loop.fasm
    expect_match "jit auto, a loop: block stats" 0 '; runs linear 0, block 1, trace 0;' \
        "$FUSEVM" run --jit=auto --stats loop.fasm
    expect_match "jit auto, straight line: linear" 0 '; runs linear 1, block 0, trace 0;' \
        "$FUSEVM" run --jit=auto --stats sum.fasm
    mkdir -m 700 blockcache
    expect_match "jit block, cold disk cache: stored" 0 'disk cache loads 0, stores 1$' \
        env FUSEVM_JIT_CACHE_DIR="$PWD/blockcache" "$FUSEVM" run --jit=block --stats loop.fasm
    expect_match "jit block, warm disk cache: loaded" 0 'disk cache loads 1, stores 0$' \
        env FUSEVM_JIT_CACHE_DIR="$PWD/blockcache" "$FUSEVM" run --jit=block --stats loop.fasm
    expect "jit block, warm disk cache: same output" 0 "499500" "" \
        env FUSEVM_JIT_CACHE_DIR="$PWD/blockcache" "$FUSEVM" run --jit=block loop.fasm
    # Why code stays interpreted, named and counted: calls in a recursive
    # fib, string ops in a loop that concatenates.
    expect_match "jit block stats: calls keep fib interpreted" 0 \
        '^fusevm: jit: why not compiled: calls and returns \(6\)$' \
        "$FUSEVM" run --jit=block --stats "$ROOT/examples/fib_recursive.fasm"
    printf 'LoadConst ""\nSetSlot 0\nLoadInt 0\nSetSlot 1\nl:\nGetSlot 0\nLoadConst "ab"\nConcat\nSetSlot 0\nSlotIncLtIntJumpBack 1 100 l\nGetSlot 0\nStringLen\n' >strings.fasm
    expect_match "jit block stats: string ops keep a loop interpreted" 0 \
        '^fusevm: jit: why not compiled: string ops \(2\)$' \
        "$FUSEVM" run --jit=block --stats strings.fasm
fi
expect "jit unknown" 2 "" \
    "fusevm run: unknown --jit mode 'fast' (expected off, linear, block, trace or auto)" \
    "$FUSEVM" run --jit=fast answer.fasm

# ---- stopping runaway programs ----------------------------------------------------

printf 'l:\nJump l\n' >forever.fasm
forever_err=$'fusevm: forever.fasm:2: instruction budget exhausted (1000 ops)\nstack traceback:\n\tforever.fasm:2: in the main program (op 0)'
expect "--max-ops stops an endless loop" 1 "" "$forever_err" "$FUSEVM" run --max-ops=1000 forever.fasm
expect "--max-ops lets a program that fits finish" 0 "42" "" "$FUSEVM" run --max-ops=1 answer.fasm
expect "--max-ops=0 stops at the first poll" 1 "" \
    $'fusevm: forever.fasm:2: instruction budget exhausted (0 ops)\nstack traceback:\n\tforever.fasm:2: in the main program (op 0)' \
    "$FUSEVM" run --max-ops=0 forever.fasm
expect "--max-ops needs a count" 2 "" \
    "fusevm run: invalid operation count in '--max-ops=lots' (try 'fusevm run --help')" \
    "$FUSEVM" run --max-ops=lots forever.fasm
expect "--max-ops refuses a negative count" 2 "" \
    "fusevm run: invalid operation count in '--max-ops=-1' (try 'fusevm run --help')" \
    "$FUSEVM" run --max-ops=-1 forever.fasm
# A recursion that never ends is stopped by the budget before the frame
# limit.
printf '    Call f 0\n.sub f\n    Call f 0\n    ReturnValue\n' >recurse.fasm
expect_match "--max-ops stops a recursion" 1 "^fusevm: recurse.fasm:3: instruction budget exhausted \(5000 ops\)$" \
    "$FUSEVM" run --max-ops=5000 recurse.fasm

# An endless loop whose 34 numeric ops the block tier runs natively on
# every iteration (its string op keeps the back-edge interpreted): the
# budget and SIGINT stop it all the same.
{
    printf 'LoadInt 0\nSetSlot 0\nloop:\nGetSlot 0\n'
    for _ in $(seq 16); do printf 'LoadInt 1\nAdd\n'; done
    printf 'SetSlot 0\nLoadConst "ab"\nStringLen\nPop\nJump loop\n'
} >native_loop.fasm
if ! "$FUSEVM" run --jit=block answer.fasm 2>&1 | grep -q 'not available yet'; then
    expect_match "--max-ops stops a loop the block tier runs natively" 1 \
        "^fusevm: native_loop.fasm:41: instruction budget exhausted \(100000 ops\)$" \
        "$FUSEVM" run --jit=block --max-ops=100000 native_loop.fasm
    expect_match "... which did run natively" 1 "; runs linear 0, block [1-9][0-9]*, trace 0;" \
        "$FUSEVM" run --jit=block --max-ops=100000 --stats native_loop.fasm
    expect_match "SIGINT stops a loop the block tier runs natively" 130 \
        "^fusevm: native_loop.fasm:41: interrupted$" \
        timeout --preserve-status -s INT 0.3 "$FUSEVM" run --jit=block native_loop.fasm
fi

# A loop the tracing tier runs as a trace, which leaves at its back-edge
# whenever the poll word is set: with a budget, every iteration, charged
# one op each (the ops native code ran are not counted). The error names
# the loop's jump, or its header where the trace left.
printf 'LoadInt 0\nSetSlot 0\nloop:\nPreIncSlotVoid 0\nJump loop\n' >counter.fasm
if ! "$FUSEVM" run --jit=trace answer.fasm 2>&1 | grep -q 'not available yet'; then
    expect_match "--max-ops stops a loop a trace runs" 1 \
        "^fusevm: counter.fasm:[45]: instruction budget exhausted \(100000 ops\)$" \
        "$FUSEVM" run --jit=trace --max-ops=100000 counter.fasm
    expect_match "... which ran as a trace" 1 "; runs linear 0, block 0, trace [1-9][0-9]*;" \
        "$FUSEVM" run --jit=trace --max-ops=100000 --stats counter.fasm
    expect_match "SIGINT stops a loop a trace runs" 130 "^fusevm: counter.fasm:[45]: interrupted$" \
        timeout --preserve-status -s INT 0.3 "$FUSEVM" run --jit=trace counter.fasm
fi

# A trace that inlines a call leaves inside it (the callee's branch goes
# the other way on its 501st call), the frames it inlined are rebuilt, and
# the callee fails there: the traceback is the interpreter's, the rebuilt
# frame named after its subroutine.
cat >inlined.fasm <<'ASM'
    LoadInt 0
    SetSlot 0
loop:
    GetSlot 0
    Call f 1
    Pop
    GetSlot 0
    LoadInt 1
    Add
    SetSlot 0
    Jump loop
.sub f
    SetSlot 0
    GetSlot 0
    LoadInt 500
    NumLt
    JumpIfFalse bad
    GetSlot 0
    ReturnValue
bad:
    CallBuiltin 7 0
    ReturnValue
ASM
inlined_err=$'fusevm: inlined.fasm:21: CallBuiltin 7: no builtin is registered with this id\nstack traceback:\n\tinlined.fasm:21: in sub \'f\' (op 17)\n\tinlined.fasm:5: in the main program (op 3)'
expect "traceback, interpreted" 1 "" "$inlined_err" "$FUSEVM" run --jit=off inlined.fasm
if ! "$FUSEVM" run --jit=trace answer.fasm 2>&1 | grep -q 'not available yet'; then
    expect "traceback after an exit inside an inlined call" 1 "" "$inlined_err" \
        "$FUSEVM" run --jit=trace inlined.fasm
    expect_match "... which a trace ran" 1 "; runs linear 0, block 0, trace [1-9][0-9]*;" \
        "$FUSEVM" run --jit=trace --stats inlined.fasm
fi

# SIGINT ends the run at its next poll: the message, the call stack, and
# the status of a process SIGINT ended. timeout sends SIGINT after the
# program has started; --preserve-status gives the command's own status.
sigint() { timeout --preserve-status -s INT 0.3 "$@"; }
forever_int=$'fusevm: forever.fasm:2: interrupted\nstack traceback:\n\tforever.fasm:2: in the main program (op 0)'
expect "SIGINT stops an endless loop" 130 "" "$forever_int" sigint "$FUSEVM" run forever.fasm
printf 'ReadLine\nPrintLn 1\nl:\nJump l\n' >waits.fasm
expect_match "SIGINT while ReadLine waits for input" 130 "^fusevm: waits.fasm:4: interrupted$" \
    sigint "$FUSEVM" run waits.fasm < <(sleep 3)

# Memory running out while an op builds a value the program asked for is an
# error, not an abort (the address space capped with ulimit -v; not under
# AddressSanitizer, which reserves terabytes of it).
if ! grep -q __asan_init "$FUSEVM"; then
    printf 'LoadInt 0\nLoadInt 200000000\nRange\n' >huge_range.fasm
    expect "a range too big for memory" 1 "" \
        $'fusevm: huge_range.fasm:3: out of memory for a range of 200000001 elements\nstack traceback:\n\thuge_range.fasm:3: in the main program (op 2)' \
        bash -c "ulimit -v 1000000 && exec \"\$0\" run huge_range.fasm" "$FUSEVM"
    printf 'LoadConst "abcdefgh"\nLoadInt 200000000\nStringRepeat\n' >huge_repeat.fasm
    expect "a string too big for memory" 1 "" \
        $'fusevm: huge_repeat.fasm:3: out of memory for a string of 1600000000 bytes\nstack traceback:\n\thuge_repeat.fasm:3: in the main program (op 2)' \
        bash -c "ulimit -v 1000000 && exec \"\$0\" run huge_repeat.fasm" "$FUSEVM"
fi

# ---- bad input -------------------------------------------------------------------

expect "missing file" 2 "" "fusevm: cannot open nonexistent.fasm: No such file or directory" \
    "$FUSEVM" run nonexistent.fasm
expect "assembler errors, one per line" 2 "" \
    $'bad_syntax.fasm:2:5: unknown op \'Bogus\'\nbad_syntax.fasm:3:13: expected an integer, found \'x\'' \
    "$FUSEVM" run bad_syntax.fasm
"$FUSEVM" asm answer.fasm -o answer.fbc
head -c 40 answer.fbc >truncated.fbc
expect "truncated binary" 2 "" \
    "fusevm: truncated.fbc: count 5 too large for the 12 bytes left in ops section at byte 24" \
    "$FUSEVM" run truncated.fbc
cp answer.fbc damaged.fbc
printf 'x' | dd of=damaged.fbc bs=1 seek=$(($(stat -c %s answer.fbc) - 9)) conv=notrunc status=none
expect "damaged binary" 2 "" "fusevm: damaged.fbc: checksum mismatch (the file is damaged)" \
    "$FUSEVM" run damaged.fbc
printf 'FVMC\002\000' >newer.fbc
expect "newer format" 2 "" \
    "fusevm: newer.fbc: unsupported format version 2 (this build reads version 1)" \
    "$FUSEVM" run newer.fbc

# ---- usage -------------------------------------------------------------------------

# The manual page describes every long option the commands' help texts list.
for cmd in run asm dis; do
    for opt in $("$FUSEVM" $cmd --help | grep -oE -- '--[a-z]+' | sort -u); do
        expect "fusevm.1 describes $cmd $opt" 0 "" "" grep -qF -- "\\-\\-${opt#--}" "$ROOT/fusevm.1"
    done
done

expect_match "no command" 2 '^Usage: fusevm COMMAND' "$FUSEVM"
expect "unknown command" 2 "" "fusevm: unknown command 'frob' (try 'fusevm --help')" "$FUSEVM" frob
expect "unknown global option" 2 "" "fusevm: unknown option '--frob' (try 'fusevm --help')" "$FUSEVM" --frob
expect "unknown run option" 2 "" "fusevm run: unknown option '--frob' (try 'fusevm run --help')" \
    "$FUSEVM" run --frob answer.fasm
expect "option of another command" 2 "" \
    "fusevm dis: unknown option '--result' (try 'fusevm dis --help')" "$FUSEVM" dis --result answer.fasm
expect "run without FILE" 2 "" "fusevm run: missing FILE (try 'fusevm run --help')" "$FUSEVM" run
expect "two files" 2 "" "fusevm dis: unexpected argument 'b' (try 'fusevm dis --help')" \
    "$FUSEVM" dis a b
expect "asm without -o" 2 "" "fusevm asm: missing -o OUT (try 'fusevm asm --help')" \
    "$FUSEVM" asm answer.fasm
expect "-o without a name" 2 "" "fusevm asm: missing file name after '-o' (try 'fusevm asm --help')" \
    "$FUSEVM" asm answer.fasm -o
expect_stdout_match "version" '^fusevm [0-9]+\.[0-9]+\.[0-9]+$' "$FUSEVM" --version
expect_stdout_match "help" '^Usage: fusevm COMMAND' "$FUSEVM" --help
expect_stdout_match "help command" '^Usage: fusevm COMMAND' "$FUSEVM" help
for cmd in run asm dis; do
    expect_stdout_match "$cmd --help" "^Usage: fusevm $cmd (\\[OPTIONS\\] )?FILE" "$FUSEVM" $cmd --help
    expect_stdout_match "$cmd -h" "^Usage: fusevm $cmd (\\[OPTIONS\\] )?FILE" "$FUSEVM" $cmd -h
    expect_stdout_match "help $cmd" "^Usage: fusevm $cmd (\\[OPTIONS\\] )?FILE" "$FUSEVM" help $cmd
done
expect "unknown short option in a group" 2 "" "fusevm run: unknown option '-x' (try 'fusevm run --help')" \
    "$FUSEVM" run -ux answer.fasm
expect "unknown short option first in a group" 2 "" "fusevm run: unknown option '-x' (try 'fusevm run --help')" \
    "$FUSEVM" run --stats -xu answer.fasm
expect "a value for an option without one" 2 "" \
    "fusevm run: unknown option '--unbuffered=1' (try 'fusevm run --help')" "$FUSEVM" run --unbuffered=1 answer.fasm
expect "option without its value" 2 "" "fusevm run: missing value after '--jit' (try 'fusevm run --help')" \
    "$FUSEVM" run --jit

# ---- asm / dis round trips ------------------------------------------------------------

expect "asm" 0 "" "" "$FUSEVM" asm rich.fasm -o rich.fbc
expect "run binary" 0 $'10\narray [int 1, float 2.5, str "s\\x00t", array [ref (undef)], hash {"k": hash {"n": status -3}}]' "" \
    "$FUSEVM" run --result rich.fbc
expect "run text" 0 "$(cat out.txt)" "" "$FUSEVM" run --result rich.fasm
"$FUSEVM" dis rich.fbc >rich.dis.fasm
expect "asm of dis" 0 "" "" "$FUSEVM" asm rich.dis.fasm -o rich2.fbc
expect "text -> binary -> text -> binary is exact" 0 "" "" cmp rich.fbc rich2.fbc
"$FUSEVM" dis --annotate rich.fbc >rich.ann.fasm
expect "asm of annotated dis" 0 "" "" "$FUSEVM" asm rich.ann.fasm -o rich3.fbc
expect "annotations change nothing" 0 "" "" cmp rich.fbc rich3.fbc
expect "dis of text equals dis of binary" 0 "$(cat rich.dis.fasm)" "" "$FUSEVM" dis rich.fasm
expect "asm from a binary" 0 "" "" "$FUSEVM" asm rich.fbc -o rich4.fbc
expect "binary -> binary is exact" 0 "" "" cmp rich.fbc rich4.fbc
expect "asm to stdout" 0 "" "" bash -c "'$FUSEVM' asm rich.fasm -o - | cmp - rich.fbc"

# ---- upstream's serde JSON chunks ---------------------------------------------------

printf '{"ops":[{"LoadConst":0},{"LoadInt":2},"Mul",{"PrintLn":1},{"LoadFloat":"-inf"}],\n"constants":[{"Int":21}]}\n' >answer.json
expect "run json" 0 $'42\nfloat -inf' "" "$FUSEVM" run --result answer.json
expect "json to binary" 0 "" "" "$FUSEVM" asm answer.json -o answer.fbc
expect "json and binary run alike" 0 $'42\nfloat -inf' "" "$FUSEVM" run --result answer.fbc
printf '{"ops":[{"Call":[0]}]}' >bad.json
expect "bad json" 2 "" "fusevm: bad.json: ops[0]: Call expects 2 operands" "$FUSEVM" run bad.json
printf '{"ops":[\n  "Nop",\n' >cut.json
expect "truncated json" 2 "" "fusevm: cut.json: line 3, column 1: unexpected end of data" \
    "$FUSEVM" run cut.json
expect "import json" 0 "" "" "$FUSEVM" import answer.json -o imported.fbc
expect "imported runs" 0 $'42\nfloat -inf' "" "$FUSEVM" run --result imported.fbc
expect "export" 0 "" "" "$FUSEVM" export imported.fbc -o exported.json
expect "export is upstream's shape" 0 $'{"ops":[\n{"LoadConst":0},\n{"LoadInt":2},\n"Mul",\n{"PrintLn":1},\n{"LoadFloat":"-inf"}\n],' "" \
    head -7 exported.json
expect "exported runs" 0 $'42\nfloat -inf' "" "$FUSEVM" run --result exported.json
expect "export without -o" 2 "" "fusevm export: missing -o OUT (try 'fusevm export --help')" \
    "$FUSEVM" export answer.json

# ---- the JIT disk cache -------------------------------------------------------------

JC="$WORK/jitcache"
expect "cache dir from the environment" 0 "$JC" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache dir
expect "cache off" 0 "off" "" env FUSEVM_JIT_CACHE_DIR=" Off " "$FUSEVM" cache dir
expect "cache size when off" 0 "off" "" env FUSEVM_JIT_CACHE_DIR=none "$FUSEVM" cache size
expect "cache dir under XDG_CACHE_HOME" 0 "$WORK/xdg/fusevm-jit" "" \
    env -u FUSEVM_JIT_CACHE_DIR XDG_CACHE_HOME="$WORK/xdg" "$FUSEVM" cache dir
expect "cache dir under HOME" 0 "$WORK/home/.cache/fusevm-jit" "" \
    env -u FUSEVM_JIT_CACHE_DIR -u XDG_CACHE_HOME HOME="$WORK/home" "$FUSEVM" cache dir
expect "cache without an action" 2 "" "fusevm cache: missing ACTION (try 'fusevm cache --help')" \
    "$FUSEVM" cache
expect "cache size of a missing directory" 0 "0" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache size
mkdir -m 700 "$JC"
head -c 100 /dev/zero >"$JC/old.fjit"
head -c 100 /dev/zero >"$JC/new.fjit"
echo keep >"$JC/keep.txt"
touch -d '2001-01-01' "$JC/old.fjit"
expect "cache size" 0 "200" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache size
expect "cache prune under the cap" 0 "0" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache prune
expect "cache prune over the cap" 0 "100" "" \
    env FUSEVM_JIT_CACHE_DIR="$JC" FUSEVM_JIT_CACHE_MAX_BYTES=150 "$FUSEVM" cache prune
expect "prune removed the oldest" 0 $'keep.txt\nnew.fjit' "" ls "$JC"
expect "cache clear" 0 "1" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache clear
expect "clear keeps other files" 0 "keep.txt" "" ls "$JC"
expect "cache size after clear" 0 "0" "" env FUSEVM_JIT_CACHE_DIR="$JC" "$FUSEVM" cache size
expect "cache unknown action" 2 "" "fusevm cache: unknown action 'purge' (try 'fusevm cache --help')" \
    "$FUSEVM" cache purge

echo "cli tests: $passed passed, $failed failed"
[[ $failed == 0 ]]
