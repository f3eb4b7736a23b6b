/* The cooperative scheduler: goroutines and channels for the ops Go,
 * ChanMake, ChanSend, ChanRecv, ChanClose and Select.
 *
 * Each goroutine is a VM running the same chunk. A scheduler op pops its
 * operands into the VM's request (fvm_sched_req) and halts the VM; the
 * scheduler takes the request after fvm_vm_run returns, serves it (a
 * result is pushed onto the waiting VM's stack) and resumes that VM or
 * another one. The op has already moved ip past itself, so a resumed VM
 * goes on after the op. fvm_vm_run pops the top of the stack as its
 * result; when a request halted the run, that value is live data and goes
 * back before anything is delivered.
 *
 * Channels are Int ids into the scheduler's table. A buffered channel
 * holds up to cap values; on an unbuffered one a sender hands its value to
 * a waiting receiver. Goroutines switch only at these ops and when they
 * end, one thread, in FIFO order of readiness, so a run is deterministic.
 *
 * Where upstream and Go differ we follow Go in one place: a goroutine
 * waiting in a Select is itself a partner for later sends and receives on
 * its channels. Upstream only re-examines waiting selects after an
 * operation succeeds, so a select that waits first is never completed by
 * an unbuffered send or receive, and it reports a deadlock where Go goes
 * on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm.h"

#define DEADLOCK_MESSAGE "fatal error: all goroutines are asleep - deadlock!"
/* Live goroutines at once, by default: each is a VM (about 6 KiB at
 * least), so a program starting goroutines in an endless loop ends with an
 * error at about 750 MiB instead of exhausting memory. */
#define DEFAULT_MAX_GOROUTINES ((size_t)1 << 17)

/* A FIFO of (goroutine, value) entries, live in e[head .. head + len):
 * a channel's buffer (g unused), its waiting senders with the value each
 * sends, its waiting receivers (v unused) and the ready queue (v unused). */
typedef struct fifo_entry {
    uint32_t g;
    fvm_value v;
} fifo_entry;

typedef struct fifo {
    fifo_entry *e;
    size_t head, len, cap;
} fifo;

static void fifo_push(fifo *q, uint32_t g, fvm_value v)
{
    if (q->head + q->len == q->cap && q->head) {
        memmove(q->e, q->e + q->head, q->len * sizeof *q->e);
        q->head = 0;
    }
    if (q->len == q->cap) {
        void *p = q->e;
        fvm_grow(&p, &q->cap, q->len + 1, sizeof *q->e);
        q->e = p;
    }
    q->e[q->head + q->len++] = (fifo_entry){g, v};
}

static fifo_entry fifo_pop(fifo *q)
{
    fifo_entry x = q->e[q->head++];
    if (--q->len == 0)
        q->head = 0;
    return x;
}

static void fifo_free(fifo *q)
{
    for (size_t i = 0; i < q->len; i++)
        fvm_release(q->e[q->head + i].v);
    free(q->e);
    *q = (fifo){0};
}

typedef struct channel {
    size_t cap;
    bool closed;
    fifo buf, senders, receivers;
} channel;

enum { G_READY, G_BLOCKED, G_DONE };

typedef struct goroutine {
    fvm_vm *vm; /* goroutine 0's is the caller's */
    int state;
} goroutine;

typedef struct select_case {
    int64_t ch;
    bool recv;
    fvm_value val; /* the value a send case sends */
} select_case;

/* A goroutine blocked in a Select, with its cases. */
typedef struct select_waiter {
    uint32_t g;
    select_case *cases;
    size_t n;
} select_waiter;

struct fvm_sched {
    fvm_sched_make_vm_fn make_vm;
    void *make_ud;
    fvm_value recv_zero;
    goroutine *gs;
    size_t ngs, gs_cap;
    size_t nlive; /* goroutines not finished */
    size_t max_live;
    fifo ready;
    size_t nblocked;
    channel *chans;
    size_t nchans, chans_cap;
    select_waiter *waiters; /* in the order they blocked */
    size_t nwaiters, waiters_cap;
    char *error;
    const fvm_vm *error_vm;
};

/* ------------------------------------------------------------------------
 * The ops' side: raise a request
 * ------------------------------------------------------------------------ */

/* How many values op pops: Go its arguments, Select three per case. */
static size_t operand_count(const fvm_op *op)
{
    switch (op->code) {
    case FVM_OP_GO: return op->b;
    case FVM_OP_CHAN_SEND: return 2;
    case FVM_OP_SELECT: return 3u * op->a;
    default: return 1; /* ChanMake, ChanRecv, ChanClose */
    }
}

void fvm_sched_req_clear(fvm_sched_req *r)
{
    for (size_t i = 0; i < r->nvals; i++)
        fvm_release(r->vals[i]);
    free(r->vals);
    *r = (fvm_sched_req){0};
}

fvm_step fvm_sched_op(fvm_vm *vm, const fvm_op *op)
{
    size_t n = operand_count(op);
    fvm_value *vals = n ? fvm_xcalloc(n, sizeof *vals) : NULL; /* zeroed values are Undef */
    size_t k = n ? fvm_pop_n(vm, n, vals) : 0;
    if (k < n) { /* the missing operands are the deepest: they read as Undef */
        memmove(vals + (n - k), vals, k * sizeof *vals);
        memset(vals, 0, (n - k) * sizeof *vals);
    }
    fvm_sched_req req = {op->code, op->a, op->b, vals, n};
    if (!vm->sched) {
        fvm_sched_req_clear(&req);
        return fvm_fail(vm, "%s needs the goroutine scheduler: run the VM with fvm_sched_run",
                        fvm_op_name(op->code));
    }
    fvm_sched_req_clear(&vm->sched_req);
    vm->sched_req = req;
    vm->halted = true;
    return FVM_STEP_HALT;
}

/* ------------------------------------------------------------------------
 * Goroutines and errors
 * ------------------------------------------------------------------------ */

static bool sched_fail(fvm_sched *s, uint32_t g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The run fails with a message, attributed to goroutine g's VM (at the op
 * whose request failed) or, for g == UINT32_MAX, to no VM. */
static bool sched_fail(fvm_sched *s, uint32_t g, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(s->error);
    s->error = strdup(msg);
    s->error_vm = NULL;
    if (g != UINT32_MAX) {
        fvm_vm *vm = s->gs[g].vm;
        fvm_fail(vm, "%s", msg);
        vm->error_ip = vm->ip ? vm->ip - 1 : 0;
        /* The op's run has returned, but its frames are the error's: take
         * the traceback as that run would have. */
        vm->depth++;
        fvm_traceback_capture(vm);
        vm->depth--;
        s->error_vm = vm;
    }
    return false;
}

static void ready(fvm_sched *s, uint32_t g)
{
    if (s->gs[g].state == G_BLOCKED)
        s->nblocked--;
    s->gs[g].state = G_READY;
    fifo_push(&s->ready, g, fvm_undef());
}

static void block(fvm_sched *s, uint32_t g)
{
    s->gs[g].state = G_BLOCKED;
    s->nblocked++;
}

/* Push v (taken) onto goroutine g's stack. */
static void deliver(fvm_sched *s, uint32_t g, fvm_value v) { fvm_push(s->gs[g].vm, v); }

static uint32_t add_goroutine(fvm_sched *s, fvm_vm *vm)
{
    if (s->ngs == s->gs_cap) {
        void *p = s->gs;
        fvm_grow(&p, &s->gs_cap, s->ngs + 1, sizeof *s->gs);
        s->gs = p;
    }
    s->gs[s->ngs] = (goroutine){vm, G_READY};
    s->nlive++;
    return (uint32_t)s->ngs++;
}

/* A Select's outcome: [received value, case index], and g runs again. */
static void deliver_select(fvm_sched *s, uint32_t g, size_t idx, fvm_value v)
{
    deliver(s, g, v);
    deliver(s, g, fvm_int((int64_t)idx));
    ready(s, g);
}

/* ------------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------------ */

static channel *chan_of(fvm_sched *s, uint32_t g, int64_t ch)
{
    if (ch < 0 || (uint64_t)ch >= s->nchans) {
        sched_fail(s, g, "panic: invalid channel %lld", (long long)ch);
        return NULL;
    }
    return &s->chans[ch];
}

static void remove_waiter(fvm_sched *s, size_t i)
{
    select_waiter *w = &s->waiters[i];
    for (size_t k = 0; k < w->n; k++)
        fvm_release(w->cases[k].val);
    free(w->cases);
    memmove(w, w + 1, (s->nwaiters - i - 1) * sizeof *w);
    s->nwaiters--;
}

/* The first goroutine (other than g) waiting in a Select with a case of
 * kind recv on ch: its index in waiters and the case's, or false. */
static bool find_waiting_case(const fvm_sched *s, uint32_t g, int64_t ch, bool recv, size_t *wi,
                              size_t *ci)
{
    for (size_t i = 0; i < s->nwaiters; i++) {
        const select_waiter *w = &s->waiters[i];
        if (w->g == g)
            continue;
        for (size_t k = 0; k < w->n; k++) {
            if (w->cases[k].ch == ch && w->cases[k].recv == recv) {
                *wi = i;
                *ci = k;
                return true;
            }
        }
    }
    return false;
}

/* A receive by g on ch that does not block: 1 with *out (owned), 0 if it
 * would block, -1 on an error. */
static int try_recv(fvm_sched *s, uint32_t g, int64_t ch, fvm_value *out)
{
    channel *c = chan_of(s, g, ch);
    if (!c)
        return -1;
    size_t wi, ci;
    if (c->buf.len) {
        *out = fifo_pop(&c->buf).v;
        if (c->senders.len) { /* the first waiting sender's value takes the free place */
            fifo_entry e = fifo_pop(&c->senders);
            fifo_push(&c->buf, 0, e.v);
            ready(s, e.g);
        }
    } else if (c->senders.len) { /* hand-off */
        fifo_entry e = fifo_pop(&c->senders);
        *out = e.v;
        ready(s, e.g);
    } else if (c->closed) {
        *out = s->recv_zero;
        fvm_retain(*out);
    } else if (find_waiting_case(s, g, ch, false, &wi, &ci)) { /* a Select sending on ch */
        select_waiter *w = &s->waiters[wi];
        *out = w->cases[ci].val;
        w->cases[ci].val = fvm_undef();
        deliver_select(s, w->g, ci, fvm_undef());
        remove_waiter(s, wi);
    } else {
        return 0;
    }
    return 1;
}

/* A send of v (borrowed) by g on ch that does not block: 1 if delivered or
 * buffered, 0 if it would block, -1 on an error. */
static int try_send(fvm_sched *s, uint32_t g, int64_t ch, fvm_value v)
{
    channel *c = chan_of(s, g, ch);
    if (!c)
        return -1;
    if (c->closed) {
        sched_fail(s, g, "panic: send on closed channel");
        return -1;
    }
    size_t wi, ci;
    fvm_retain(v);
    if (c->receivers.len) {
        uint32_t r = fifo_pop(&c->receivers).g;
        deliver(s, r, v);
        ready(s, r);
    } else if (find_waiting_case(s, g, ch, true, &wi, &ci)) { /* a Select receiving on ch */
        uint32_t r = s->waiters[wi].g;
        remove_waiter(s, wi);
        deliver_select(s, r, ci, v);
    } else if (c->buf.len < c->cap) {
        fifo_push(&c->buf, 0, v);
    } else {
        fvm_release(v);
        return 0;
    }
    return 1;
}

/* The first ready case of a Select, in order: 1 with its index and the
 * received value (Undef for a send), 0 if none is ready, -1 on an error. */
static int try_select(fvm_sched *s, uint32_t g, const select_case *cases, size_t n, size_t *idx,
                      fvm_value *got)
{
    for (size_t k = 0; k < n; k++) {
        int r;
        *got = fvm_undef();
        r = cases[k].recv ? try_recv(s, g, cases[k].ch, got) : try_send(s, g, cases[k].ch, cases[k].val);
        if (r != 0) {
            *idx = k;
            return r;
        }
    }
    return 0;
}

/* After a channel changed: complete every waiting Select that can now go
 * on (one completion may enable another). */
static bool recheck_selects(fvm_sched *s)
{
    bool progressed = true;
    while (progressed) {
        progressed = false;
        for (size_t i = 0; i < s->nwaiters && !progressed; i++) {
            select_waiter w = s->waiters[i];
            size_t idx;
            fvm_value got;
            int r = try_select(s, w.g, w.cases, w.n, &idx, &got);
            if (r < 0)
                return false;
            if (r == 0)
                continue;
            for (size_t j = 0; j < s->nwaiters; j++) { /* trying may have moved it */
                if (s->waiters[j].g == w.g) {
                    remove_waiter(s, j);
                    break;
                }
            }
            deliver_select(s, w.g, idx, got);
            progressed = true;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Serving requests
 * ------------------------------------------------------------------------ */

static bool serve_go(fvm_sched *s, uint32_t g, fvm_sched_req *req)
{
    fvm_vm *spawner = s->gs[g].vm;
    int64_t entry = fvm_chunk_find_sub(spawner->chunk, req->a);
    if (entry < 0)
        return sched_fail(s, g, "panic: goroutine target sub %u not found", (unsigned)req->a);
    if (s->nlive >= s->max_live)
        return sched_fail(s, g, "panic: more than %zu goroutines", s->max_live);
    fvm_vm *vm = s->make_vm ? s->make_vm(s->make_ud, s->gs[0].vm) : fvm_vm_new_sibling(s->gs[0].vm);
    if (!vm)
        return sched_fail(s, g, "panic: the scheduler's VM factory made no VM");
    if (vm->chunk != spawner->chunk) {
        fvm_vm_free(vm);
        return sched_fail(s, g, "panic: the scheduler's VM factory made a VM for another chunk");
    }
    /* The goroutine's frame returns to the end marker, so returning from
     * its subroutine ends its run. */
    size_t base = vm->sp;
    for (size_t i = 0; i < req->nvals; i++)
        fvm_push(vm, req->vals[i]);
    req->nvals = 0; /* moved */
    if (!fvm_frame_push(vm, (uint32_t)vm->chunk->len, base)) {
        fvm_vm_free(vm);
        return sched_fail(s, g, "call depth limit exceeded starting a goroutine");
    }
    vm->frames[vm->nframes - 1].name = req->a; /* its tracebacks name the subroutine */
    vm->ip = (size_t)entry;
    uint32_t ng = add_goroutine(s, vm);
    s->gs[ng].state = G_BLOCKED; /* so that ready() queues it */
    s->nblocked++;
    ready(s, ng);
    ready(s, g); /* the spawner goes on after `go` */
    return true;
}

static bool serve_select(fvm_sched *s, uint32_t g, fvm_sched_req *req)
{
    size_t n = req->a;
    select_case *cases = n ? fvm_xcalloc(n, sizeof *cases) : NULL;
    for (size_t k = 0; k < n; k++) {
        cases[k].ch = fvm_to_int(req->vals[3 * k]);
        cases[k].recv = fvm_truthy(req->vals[3 * k + 1]);
        cases[k].val = req->vals[3 * k + 2];
        req->vals[3 * k + 2] = fvm_undef(); /* moved */
    }
    size_t idx;
    fvm_value got;
    int r = try_select(s, g, cases, n, &idx, &got);
    if (r != 0 || req->b) {
        for (size_t k = 0; k < n; k++)
            fvm_release(cases[k].val);
        free(cases);
        if (r < 0)
            return false;
        if (r == 0) { /* the default case: index n */
            deliver_select(s, g, n, fvm_undef());
            return true;
        }
        deliver_select(s, g, idx, got);
        return recheck_selects(s);
    }
    if (s->nwaiters == s->waiters_cap) {
        void *p = s->waiters;
        fvm_grow(&p, &s->waiters_cap, s->nwaiters + 1, sizeof *s->waiters);
        s->waiters = p;
    }
    s->waiters[s->nwaiters++] = (select_waiter){g, cases, n};
    block(s, g);
    return true;
}

static bool serve(fvm_sched *s, uint32_t g)
{
    fvm_sched_req req = s->gs[g].vm->sched_req;
    s->gs[g].vm->sched_req = (fvm_sched_req){0};
    bool ok = true;
    int r;
    fvm_value got;
    channel *c;
    switch (req.op) {
    case FVM_OP_GO:
        ok = serve_go(s, g, &req);
        break;
    case FVM_OP_CHAN_MAKE: {
        int64_t cap = fvm_to_int(req.vals[0]);
        if (s->nchans == s->chans_cap) {
            void *p = s->chans;
            fvm_grow(&p, &s->chans_cap, s->nchans + 1, sizeof *s->chans);
            s->chans = p;
        }
        s->chans[s->nchans] = (channel){.cap = cap > 0 ? (size_t)cap : 0};
        deliver(s, g, fvm_int((int64_t)s->nchans++));
        ready(s, g);
        break;
    }
    case FVM_OP_CHAN_SEND:
        r = try_send(s, g, fvm_to_int(req.vals[0]), req.vals[1]);
        if (r > 0) {
            ready(s, g);
            ok = recheck_selects(s);
        } else if (r == 0) {
            c = &s->chans[fvm_to_int(req.vals[0])];
            fifo_push(&c->senders, g, req.vals[1]);
            req.vals[1] = fvm_undef(); /* moved */
            block(s, g);
        }
        ok = ok && r >= 0;
        break;
    case FVM_OP_CHAN_RECV:
        r = try_recv(s, g, fvm_to_int(req.vals[0]), &got);
        if (r > 0) {
            deliver(s, g, got);
            ready(s, g);
            ok = recheck_selects(s);
        } else if (r == 0) {
            fifo_push(&s->chans[fvm_to_int(req.vals[0])].receivers, g, fvm_undef());
            block(s, g);
        }
        ok = ok && r >= 0;
        break;
    case FVM_OP_CHAN_CLOSE:
        c = chan_of(s, g, fvm_to_int(req.vals[0]));
        if (!c) {
            ok = false;
            break;
        }
        c->closed = true;
        while (c->receivers.len) { /* each waiting receiver gets the zero value */
            uint32_t w = fifo_pop(&c->receivers).g;
            fvm_retain(s->recv_zero);
            deliver(s, w, s->recv_zero);
            ready(s, w);
        }
        ready(s, g);
        ok = recheck_selects(s);
        break;
    default: /* FVM_OP_SELECT */
        ok = serve_select(s, g, &req);
        break;
    }
    fvm_sched_req_clear(&req);
    return ok;
}

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------ */

/* Back to no goroutines and no channels (goroutine 0's VM is not ours). */
static void sched_clear(fvm_sched *s)
{
    for (size_t i = 1; i < s->ngs; i++)
        fvm_vm_free(s->gs[i].vm);
    s->ngs = s->nlive = 0;
    fifo_free(&s->ready);
    s->nblocked = 0;
    for (size_t i = 0; i < s->nchans; i++) {
        fifo_free(&s->chans[i].buf);
        fifo_free(&s->chans[i].senders);
        fifo_free(&s->chans[i].receivers);
    }
    s->nchans = 0;
    while (s->nwaiters)
        remove_waiter(s, s->nwaiters - 1);
    free(s->error);
    s->error = NULL;
    s->error_vm = NULL;
}

fvm_sched *fvm_sched_new(fvm_sched_make_vm_fn make_vm, void *ud)
{
    fvm_sched *s = fvm_xcalloc(1, sizeof *s);
    s->make_vm = make_vm;
    s->make_ud = ud;
    s->recv_zero = fvm_int(0);
    s->max_live = DEFAULT_MAX_GOROUTINES;
    return s;
}

void fvm_sched_free(fvm_sched *s)
{
    if (!s)
        return;
    sched_clear(s);
    fvm_release(s->recv_zero);
    free(s->gs);
    free(s->chans);
    free(s->waiters);
    free(s);
}

void fvm_sched_set_max_goroutines(fvm_sched *s, size_t max)
{
    s->max_live = max ? max : DEFAULT_MAX_GOROUTINES;
}

void fvm_sched_set_recv_zero(fvm_sched *s, fvm_value zero)
{
    fvm_release(s->recv_zero);
    s->recv_zero = zero;
}

fvm_result fvm_sched_run(fvm_sched *s, fvm_vm *main_vm)
{
    fvm_result fail = {FVM_RUN_ERROR, fvm_undef()};
    sched_clear(s);
    add_goroutine(s, main_vm);
    fifo_push(&s->ready, 0, fvm_undef());
    while (s->ready.len) {
        uint32_t g = fifo_pop(&s->ready).g;
        fvm_vm *vm = s->gs[g].vm;
        vm->sched = s;
        vm->halted = false;
        fvm_result r = fvm_vm_run(vm);
        vm->sched = NULL;
        if (r.status == FVM_RUN_ERROR) {
            free(s->error);
            s->error = strdup(fvm_vm_error(vm));
            s->error_vm = vm;
            return fail;
        }
        if (vm->sched_req.op != FVM_OP_NOP) {
            if (r.status == FVM_RUN_OK) /* the run popped it: live data */
                fvm_push(vm, r.value);
            if (!serve(s, g))
                return fail;
        } else {
            s->gs[g].state = G_DONE;
            s->nlive--;
            if (g == 0) /* main ended: so does the program */
                return r;
            fvm_release(r.value);
            fvm_vm_free(vm); /* nothing refers to a finished goroutine */
            s->gs[g].vm = NULL;
        }
        if (!s->ready.len && s->nblocked) {
            sched_fail(s, UINT32_MAX, DEADLOCK_MESSAGE);
            return fail;
        }
    }
    return (fvm_result){FVM_RUN_HALTED, fvm_undef()};
}

fvm_result fvm_sched_run_capturing(fvm_sched *s, fvm_vm *main_vm, const char *global)
{
    fvm_result r = fvm_sched_run(s, main_vm);
    if (r.status == FVM_RUN_ERROR)
        return r;
    fvm_release(r.value);
    const fvm_chunk *c = main_vm->chunk;
    size_t len = strlen(global);
    for (size_t i = 0; i < c->nnames; i++) {
        if (c->names[i]->len == len && memcmp(c->names[i]->data, global, len) == 0) {
            fvm_value v = i < main_vm->nglobals ? main_vm->globals[i] : fvm_undef();
            fvm_retain(v);
            return (fvm_result){FVM_RUN_OK, v};
        }
    }
    return (fvm_result){FVM_RUN_HALTED, fvm_undef()};
}

const char *fvm_sched_error(const fvm_sched *s) { return s->error ? s->error : ""; }
const fvm_vm *fvm_sched_error_vm(const fvm_sched *s) { return s->error_vm; }
size_t fvm_sched_goroutine_count(const fvm_sched *s) { return s->ngs; }
