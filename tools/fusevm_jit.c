/* The fusevm command's JIT side: running a program through the linear
 * tier, the --dump hook (IR as text, machine code disassembled with
 * capstone) and the JIT line of --stats. Dumps and statistics go to
 * standard error, so standard output holds only what the program wrote. */
#include <capstone/capstone.h>
#include <ctype.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fusevm_cli.h"

int fvm_cli_parse_dump(const char *list, unsigned *kinds)
{
    *kinds = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 2 && strncmp(p, "ir", 2) == 0)
            *kinds |= FVM_JIT_DUMP_IR;
        else if (n == 3 && strncmp(p, "asm", 3) == 0)
            *kinds |= FVM_JIT_DUMP_CODE;
        else if (n == 5 && strncmp(p, "trace", 5) == 0)
            *kinds |= FVM_JIT_DUMP_TRACE;
        else {
            fprintf(stderr, "fusevm run: unknown --dump item '%.*s' (expected ir, asm or trace)\n",
                    (int)n, p);
            return -1;
        }
        if (p[n] == 0)
            return 0;
        p += n + 1;
    }
}

/* Decode an even run of hex digits into bytes; the byte count, or 0 if
 * text is not such a run. */
static size_t parse_hex(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 2 || len / 2 > cap)
        return 0;
    for (size_t i = 0; i < len; i += 2) {
        char pair[3] = {text[i], text[i + 1], 0};
        char *end;
        if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]))
            return 0;
        out[i / 2] = (uint8_t)strtoul(pair, &end, 16);
    }
    return len / 2;
}

/* capstone, loaded when machine code is first dumped: linked into the
 * command it would add its load time (about 6 ms) and its pages (about
 * 3 MiB) to every run, dump or not. */
typedef struct disassembler {
    void *lib;
    cs_err (*open)(cs_arch, cs_mode, csh *);
    size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
    void (*free)(cs_insn *, size_t);
    cs_err (*close)(csh *);
    csh handle;
} disassembler;

static bool disassembler_open(disassembler *d)
{
    memset(d, 0, sizeof *d);
    d->lib = dlopen("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!d->lib)
        d->lib = dlopen("libcapstone.so", RTLD_NOW | RTLD_LOCAL);
    if (!d->lib)
        return false;
    *(void **)&d->open = dlsym(d->lib, "cs_open");
    *(void **)&d->disasm = dlsym(d->lib, "cs_disasm");
    *(void **)&d->free = dlsym(d->lib, "cs_free");
    *(void **)&d->close = dlsym(d->lib, "cs_close");
    if (d->open && d->disasm && d->free && d->close &&
        d->open(CS_ARCH_X86, CS_MODE_64, &d->handle) == CS_ERR_OK)
        return true;
    dlclose(d->lib);
    d->lib = NULL;
    return false;
}

static void disassembler_close(disassembler *d)
{
    if (d->lib) {
        d->close(&d->handle);
        dlclose(d->lib);
    }
}

/* One line of a CODE dump: "OFFSET  vN op  HEXBYTES". The bytes are
 * disassembled below the line, at their offset; a line without bytes (the
 * tail line) is printed as it is. */
static void print_code_line(disassembler *d, const char *line, size_t len)
{
    uint8_t bytes[256];
    const char *last = line + len;
    while (last > line && last[-1] != ' ')
        last--;
    size_t n = parse_hex(last, (size_t)(line + len - last), bytes, sizeof bytes);
    unsigned long offset = strtoul(line, NULL, 16);
    if (n == 0 || last == line) {
        fprintf(stderr, "%.*s\n", (int)len, line);
        return;
    }
    fprintf(stderr, "%.*s\n", (int)(last - line), line);
    cs_insn *insn;
    size_t count = d->lib ? d->disasm(d->handle, bytes, n, offset, 0, &insn) : 0;
    size_t done = 0;
    for (size_t i = 0; i < count; i++) {
        fprintf(stderr, "    %06" PRIx64 "  %-8s %s\n", insn[i].address, insn[i].mnemonic, insn[i].op_str);
        done += insn[i].size;
    }
    if (done < n)
        fprintf(stderr, "    (%zu bytes not decoded)\n", n - done);
    if (count)
        d->free(insn, count);
}

static void print_code(const char *text, size_t len)
{
    disassembler d;
    if (!disassembler_open(&d))
        fprintf(stderr, "(capstone not found: machine code shown as bytes)\n");
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        print_code_line(&d, text, n);
        text += nl ? n + 1 : n;
        len -= nl ? n + 1 : n;
    }
    disassembler_close(&d);
}

static void dump_hook(void *ud, fvm_jit_dump_kind kind, fvm_jit_tier tier, const fvm_chunk *c,
                      const char *text, size_t len)
{
    (void)ud;
    const char *what = kind == FVM_JIT_DUMP_IR     ? "IR"
                       : kind == FVM_JIT_DUMP_TRACE ? "recording"
                                                    : "machine code";
    fprintf(stderr, "---- %s %s of chunk %016" PRIx64 "\n", fvm_jit_tier_name(tier), what,
            fvm_chunk_op_hash(c));
    if (kind == FVM_JIT_DUMP_CODE) {
        print_code(text, len);
        return;
    }
    fwrite(text, 1, len, stderr);
    if (len && text[len - 1] != '\n')
        fputc('\n', stderr);
}

fvm_jit *fvm_cli_jit_new(unsigned dump_kinds)
{
    fvm_jit *j = fvm_jit_new();
    if (j && dump_kinds)
        fvm_jit_set_dump(j, dump_kinds, dump_hook, NULL);
    return j;
}

bool fvm_cli_run_linear(fvm_jit *j, const fvm_chunk *c, bool stats, fvm_result *r)
{
    /* A fresh VM's slots: all Undef, one for each slot the chunk uses. */
    int32_t max_slot = fvm_chunk_max_slot(c);
    size_t nslots = (size_t)(max_slot + 1);
    fvm_value *slots = calloc(nslots ? nslots : 1, sizeof *slots);
    for (size_t i = 0; slots && i < nslots; i++)
        slots[i] = fvm_undef();
    fvm_value v;
    bool ran = slots && fvm_jit_try_run_linear(j, c, slots, nslots, &v) == FVM_JIT_OK;
    free(slots);
    if (ran) {
        r->status = FVM_RUN_OK;
        r->value = v;
    } else if (stats) {
        const char *why = fvm_jit_last_failure(j);
        if (!fvm_jit_is_linear_eligible(j, c))
            fprintf(stderr, "fusevm: jit: the chunk is not eligible for the linear tier; interpreting it\n");
        else if (why && strstr(why, fvm_jit_reason_text(FVM_JIT_REASON_SLOT_KIND)))
            fprintf(stderr, "fusevm: jit: no native code for the chunk (%s, and this command "
                    "starts every slot as Undef); interpreting it\n", why);
        else
            fprintf(stderr, "fusevm: jit: no native code for the chunk (%s); interpreting it\n",
                    why ? why : "linear: declined");
    }
    return ran;
}

void fvm_cli_print_jit_stats(const fvm_jit *j)
{
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    fprintf(stderr,
            "fusevm: jit: %" PRIu64 " compiled, %" PRIu64 " failed, %" PRIu64 " ineligible, %" PRIu64
            " blacklisted; compile %.3f ms; cache hits %" PRIu64 ", negative hits %" PRIu64
            "; runs linear %" PRIu64 ", block %" PRIu64 ", trace %" PRIu64 "; code %" PRIu64
            " bytes; disk cache loads %" PRIu64 ", stores %" PRIu64 "\n",
            s.compiles, s.compile_failures, s.ineligible, s.blacklisted, (double)s.compile_ns / 1e6,
            s.cache_hits, s.negative_hits, s.runs[FVM_JIT_LINEAR], s.runs[FVM_JIT_BLOCK],
            s.runs[FVM_JIT_TRACE], s.code_bytes, s.disk_loads, s.disk_stores);
    if (s.traces || s.side_traces || s.trace_aborts)
        fprintf(stderr,
                "fusevm: jit: traces %" PRIu64 ", side traces %" PRIu64 ", recordings given up %" PRIu64
                "\n",
                s.traces, s.side_traces, s.trace_aborts);
    if (fvm_jit_last_failure(j))
        fprintf(stderr, "fusevm: jit: last failed compile: %s\n", fvm_jit_last_failure(j));
    /* Most frequent first; ties in the list's order. */
    bool shown[FVM_JIT_REASON_COUNT] = {false};
    for (;;) {
        int best = -1;
        for (int r = 1; r < FVM_JIT_REASON_COUNT; r++)
            if (!shown[r] && s.reasons[r] && (best < 0 || s.reasons[r] > s.reasons[best]))
                best = r;
        if (best < 0)
            break;
        shown[best] = true;
        fprintf(stderr, "fusevm: jit: why not compiled: %s (%" PRIu64 ")\n",
                fvm_jit_reason_text((fvm_jit_reason)best), s.reasons[best]);
    }
}
