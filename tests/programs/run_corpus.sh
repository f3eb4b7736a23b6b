#!/usr/bin/env bash
# Runs the .fasm program corpus and checks each program against the
# expectations written in its comments (tests/programs/README.md):
#
#   ; expect-output: TEXT     bytes the program writes (escapes decoded; the
#                             directives concatenate in order)
#   ; expect-result: TEXT     the line `fusevm run --result` prints
#                             (default: halted)
#   ; expect-error: MESSAGE   the run fails with exactly this message, exit 1
#   ; expect-stderr: TEXT     what else appears on standard error
#   ; expect-native: MODE     under --jit=MODE the program must really run in
#                             that tier (checked through --stats)
#
# Usage: tests/programs/run_corpus.sh [--fusevm=PATH] [--jit=MODE]
#            [--cache=off|cold|warm] [-j N] [-v] [FILE|DIR]...
#
#   --fusevm=PATH  the command to test (default: build/fusevm)
#   --jit=MODE     passed to `fusevm run` (off, linear, block, trace, auto)
#   --cache=off    FUSEVM_JIT_CACHE_DIR=off: no disk cache (the default)
#   --cache=cold   each program runs with a fresh, empty cache directory
#   --cache=warm   each program runs twice on one cache directory; both
#                  runs are checked
#   -j N           run N programs at a time (default: the number of CPUs)
#   -v             on a failure, also show the whole expected and actual text
#
# Standard input is /dev/null. Prints one line per failing program, then
# "N passed, M failed"; exits 1 if any program failed, 2 on a usage error.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
fusevm=$root/build/fusevm
jit=off
cache=off
verbose=0
jobs=$(nproc 2>/dev/null || echo 1)
timeout_s=${CORPUS_TIMEOUT:-20}
inputs=()

usage() {
    sed -n '/^# Usage:/,/^# Standard input/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while (($# > 0)); do
    case $1 in
    --fusevm=*) fusevm=${1#*=} ;;
    --jit=*) jit=${1#*=} ;;
    --cache=off | --cache=cold | --cache=warm) cache=${1#*=} ;;
    -v) verbose=1 ;;
    -j) jobs=${2:-}; shift ;;
    -j*) jobs=${1#-j} ;;
    -h | --help) usage ;;
    -*) echo "run_corpus.sh: unknown option '$1'" >&2; usage ;;
    *) inputs+=("$1") ;;
    esac
    shift
done
if [[ ! $jobs =~ ^[1-9][0-9]*$ ]]; then
    echo "run_corpus.sh: -j needs a positive number" >&2
    usage
fi
[[ ${#inputs[@]} -gt 0 ]] || inputs=("$root/tests/programs")
if [[ ! -x $fusevm ]]; then
    echo "run_corpus.sh: $fusevm is not an executable (run make first)" >&2
    exit 2
fi

files=()
for input in "${inputs[@]}"; do
    if [[ -d $input ]]; then
        for f in "$input"/*.fasm; do
            [[ -e $f ]] && files+=("$f")
        done
    else
        files+=("$input")
    fi
done

fusevm=$(realpath "$fusevm")
for i in "${!files[@]}"; do
    [[ ${files[i]} == /* ]] || files[i]=$PWD/${files[i]}
done

# Programs run in a scratch directory, so nothing they create lands in the tree.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2

# ---- expectations -----------------------------------------------------------

# Fills the expectation files and variables for one program from its
# directives; returns 1 (with the reason in $reason) if they are malformed.
read_expectations() {
    local file=$1 line kind text
    : >"$d/want_out"
    : >"$d/want_err"
    want_result=
    want_error=
    want_native=
    have_result=0
    have_error=0
    directives=0
    if [[ ! -r $file ]]; then
        reason="cannot read the file"
        return 1
    fi
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*[\;#][[:space:]]*expect-(output|result|error|stderr|native):(.*)$ ]] || continue
        kind=${BASH_REMATCH[1]}
        text=${BASH_REMATCH[2]}
        text=${text# }
        text=${text%$'\r'}
        directives=$((directives + 1))
        case $kind in
        output) printf '%b' "$text" >>"$d/want_out" ;;
        stderr) printf '%b' "$text" >>"$d/want_err" ;;
        native) want_native=$text ;;
        result)
            ((have_result)) && { reason="more than one expect-result"; return 1; }
            have_result=1
            want_result=$text
            ;;
        error)
            ((have_error)) && { reason="more than one expect-error"; return 1; }
            have_error=1
            want_error=$text
            ;;
        esac
    done <"$file"
    if ((directives == 0)); then
        reason="no expect-* directives"
        return 1
    fi
    if ((have_result && have_error)); then
        reason="expect-result and expect-error together"
        return 1
    fi
    ((have_result || have_error)) || want_result=halted
    return 0
}

# What `fusevm run --result` writes to stdout when the program writes
# want_out and ends with want_result: the result starts a line of its own.
# Appended to want_out, which becomes the whole expected stdout.
build_expected_stdout() {
    ((have_error)) && return 0
    if [[ -s $d/want_out && -n $(tail -c 1 "$d/want_out") ]]; then
        printf '\n' >>"$d/want_out"
    fi
    printf '%s\n' "$want_result" >>"$d/want_out"
}

# ---- checking one run -------------------------------------------------------

# Text on one line, in double quotes, with backslash, newline, tab and CR
# escaped as in the expect-* directives.
quote() {
    local text=$1
    text=${text//\\/\\\\}
    text=${text//$'\n'/\\n}
    text=${text//$'\t'/\\t}
    text=${text//$'\r'/\\r}
    printf '"%s"' "$text"
}

# A file's bytes for a failure message: quoted, NUL shown as \0, cut at 120
# bytes unless -v.
show() {
    local text
    text=$(head -c 4000 "$1" | tr '\0' '\1'; printf x)
    text=${text%x}
    if ((verbose == 0)) && ((${#text} > 120)); then
        text="${text:0:120}..."
    fi
    text=$(quote "$text")
    printf '%s' "${text//$'\1'/\\0}"
}

# Runs the program once; sets $reason and returns 1 on a mismatch.
check_run() {
    local file=$1 status native=0
    [[ -n $want_native && $want_native == "$jit" ]] && native=1
    if ((native)); then
        timeout "$timeout_s" "$fusevm" run --result --jit="$jit" --stats "$file" \
            </dev/null >"$d/got_stdout" 2>"$d/got_stderr"
    else
        timeout "$timeout_s" "$fusevm" run --result --jit="$jit" "$file" \
            </dev/null >"$d/got_stdout" 2>"$d/got_stderr"
    fi
    status=$?
    if ((native)); then
        # The program must have run in the tier; the statistics lines are
        # then dropped so the rest of stderr is compared as usual.
        if ! grep -Eq "^fusevm: jit: .*runs $jit [1-9]" "$d/got_stderr"; then
            reason="did not run in the $jit tier: $(grep '^fusevm: jit:' "$d/got_stderr")"
            return 1
        fi
        grep -Ev '^fusevm: (stats|jit): ' "$d/got_stderr" >"$d/got_stderr_rest"
        mv "$d/got_stderr_rest" "$d/got_stderr"
    fi
    if ((status == 124)); then
        reason="timed out after ${timeout_s}s"
        return 1
    fi
    if ((have_error)); then
        local at line message
        if ((status != 1)); then
            reason="exit status $status, expected 1 (error: $want_error); stderr: $(show "$d/got_stderr")"
            return 1
        fi
        # The error is the line before the last "stack traceback:"; the
        # frames follow it, one per line, each starting with a tab.
        at=$(grep -n '^stack traceback:$' "$d/got_stderr" | tail -n 1 | cut -d: -f1)
        line=$( ((${at:-0} > 1)) && sed -n "$((at - 1))p" "$d/got_stderr")
        message=${line#fusevm: *: }
        if [[ $line != "fusevm: "* || $message == "$line" ]] ||
            tail -n +"$((at + 1))" "$d/got_stderr" | grep -qv $'^\t'; then
            reason="no 'fusevm: FILE:LINE: MESSAGE' and traceback at the end of stderr: $(show "$d/got_stderr")"
            return 1
        fi
        if [[ $message != "$want_error" ]]; then
            reason="error $(quote "$message"), expected $(quote "$want_error")"
            return 1
        fi
        # Everything before the error line is checked as expect-stderr.
        head -n "$((at - 2))" "$d/got_stderr" >"$d/got_stderr_rest"
        mv "$d/got_stderr_rest" "$d/got_stderr"
    elif ((status != 0)); then
        reason="exit status $status; stderr: $(show "$d/got_stderr")"
        return 1
    fi
    if ! cmp -s "$d/want_out" "$d/got_stdout"; then
        reason="stdout $(show "$d/got_stdout"), expected $(show "$d/want_out")"
        return 1
    fi
    if [[ -s $d/want_err || -s $d/got_stderr ]] && ! cmp -s "$d/want_err" "$d/got_stderr"; then
        reason="stderr $(show "$d/got_stderr"), expected $(show "$d/want_err")"
        return 1
    fi
    return 0
}

# Runs the program as the cache mode asks.
check_program() {
    local file=$1 dir
    case $cache in
    off)
        FUSEVM_JIT_CACHE_DIR=off check_run "$file"
        ;;
    cold)
        dir=$d/cache
        mkdir "$dir"
        FUSEVM_JIT_CACHE_DIR=$dir check_run "$file"
        ;;
    warm)
        dir=$d/cache
        mkdir "$dir"
        FUSEVM_JIT_CACHE_DIR=$dir check_run "$file" || { reason="first run: $reason"; return 1; }
        FUSEVM_JIT_CACHE_DIR=$dir check_run "$file" || { reason="second run: $reason"; return 1; }
        ;;
    esac
}

# ---- main -------------------------------------------------------------------

# Checks one program in its own scratch directory $d and leaves "ok" or the
# failure line in $d/verdict.
run_one() {
    local file=$1
    d=$2
    reason=
    if read_expectations "$file" && build_expected_stdout && check_program "$file"; then
        echo ok >"$d/verdict"
    else
        echo "FAIL ${file#"$root"/}: $reason" >"$d/verdict"
    fi
}

dirs=()
for i in "${!files[@]}"; do
    dirs+=("$work/$i")
done
((${#dirs[@]} == 0)) || mkdir "${dirs[@]}"

running=0
for i in "${!files[@]}"; do
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    run_one "${files[i]}" "$work/$i" &
    running=$((running + 1))
done
wait

passed=0
failed=0
for i in "${!files[@]}"; do
    IFS= read -r verdict <"$work/$i/verdict"
    if [[ $verdict == ok ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "$verdict"
    fi
done
echo "$passed passed, $failed failed"
((failed == 0))
