"""The native thread pool: compiled kernels split their work across the cores.

A kernel that can split calls ``sn_fork(job, context, work)``: less than two grains of work run whole on the
caller; more is cut into parts (one a grain, at most two a thread), which the caller and the pool's workers claim
one at a time (an atomic counter tagged with the job's generation) and ``sn_fork`` returns once every part
is done. A part is run by whoever claims it, so the caller never waits for a worker that is napping or
descheduled unless that worker already holds a part; a kernel has two parts a thread, so such a worker holds
little. A second caller while a fork runs (two Python threads at once) runs its kernel alone: every kernel is
correct with any number of parts. A join that waited much longer than the caller worked (a worker descheduled
holding a part: another process holds the core) makes the next ``BACKOFF`` forks run alone: on a busy shared
machine two threads would otherwise be slower than one.

Workers are Python threads parked in native code (``sn_worker``, called through ctypes, which releases the GIL):
they spin on the generation word for about a millisecond after their last job, then poll it between naps that
grow to 4 ms, so an idle pool costs no core. The pool is one small ``library``: ``sn_fork`` is registered
as a symbol, so every compiled graph (fresh or from the disk cache) links against it.
Exports never reference it. The library also holds ``marshal``'s function, which every call of a compiled graph
uses: a process loads one object for both.
"""

from __future__ import annotations

import ctypes
import os
import threading

from llvmlite import binding as llvm
from llvmlite import ir

from . import jit, marshal
from .irloops import I64, PTR, Callee
from .library import Library

FORK = "sn_fork"
WORKER = "sn_worker"
STOP = "sn_stop"
MAX_THREADS = 64
SPIN_CYCLES = 3_000_000  # about a millisecond of spinning before a worker naps
NAP_NS, LONGEST_NAP_NS = 50_000, 4_000_000  # naps double from 50 µs: an idle pool wakes ~250 times a second

# The pool's words (i64 indices), each in a cache line of its own. CLAIM holds a job's generation (high 32 bits)
# and its next unclaimed part (low 32 bits): a part is run by whoever claims it, so a descheduled or napping
# worker delays nothing it has not claimed.
GENERATION, JOB, CONTEXT, PARTS, CLAIM, DONE, BUSY, QUIT, WORKERS = 0, 8, 9, 10, 16, 24, 32, 40, 48
GRAIN_WORD, BACKOFF_WORD, COOL = 56, 57, 64  # settings (read-mostly), then the backoff's countdown
WORDS = 72
STALL_CYCLES = 600_000  # ≈ 200 µs: a join waiting that much longer than the caller worked is a stall
BACKOFF = 256  # forks that then run alone (the cores are busy elsewhere) before the pool tries them again
GRAIN = 32 << 13  # a part's least work (parts.work's units), ≈ 5–10 µs: a fork costs a few cache-line transfers

_JOB = ir.FunctionType(ir.IntType(32), [PTR, I64, I64])


def _module(triple: str) -> str:
    """The IR of ``sn_fork``, ``sn_worker`` and ``sn_stop`` over one zero-initialized global array of words."""
    module = ir.Module(name="sn_pool")
    words = ir.GlobalVariable(module, ir.ArrayType(I64, WORDS), "sn_pool_words")
    words.initializer = ir.Constant(ir.ArrayType(I64, WORDS), None)
    words.align = 64
    x86 = triple.startswith(("x86_64", "i686", "i386"))
    pause = ir.Function(module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause") if x86 else None
    cycles = ir.Function(module, ir.FunctionType(I64, []), "llvm.readcyclecounter")
    timespec = ir.LiteralStructType([I64, I64])
    nanosleep = ir.Function(module, ir.FunctionType(ir.IntType(32), [PTR, PTR]), "nanosleep")
    sched_yield = ir.Function(module, ir.FunctionType(ir.IntType(32), []), "sched_yield")

    def i64(v: int) -> ir.Constant:
        return ir.Constant(I64, v)

    def word(b: ir.IRBuilder, index: int) -> ir.Value:
        return b.gep(words, [i64(0), i64(index)])

    def load(b, index, ordering="acquire"):
        return b.load_atomic(word(b, index), ordering, 8, typ=I64)

    def store(b, value, index, ordering="release"):
        b.store_atomic(value if isinstance(value, ir.Value) else i64(value), word(b, index), ordering, 8)

    def relax(b):
        if pause is not None:
            b.call(pause, [])

    def take_busy(b, fn, on_fail):
        """Try to own the pool; branch to ``on_fail`` if another caller does."""
        took = b.extract_value(b.cmpxchg(word(b, BUSY), i64(0), i64(1), "acquire", "monotonic"), 1)
        owned = fn.append_basic_block("owned")
        b.cbranch(took, owned, on_fail)
        b.position_at_end(owned)

    # ---- sn_claim(generation, job, context, parts): run unclaimed parts of this generation's job
    claim = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64, PTR, PTR, I64]), "sn_claim")
    claim.linkage = "internal"
    generation, job, context, parts = claim.args
    b = ir.IRBuilder(claim.append_basic_block("entry"))
    again, done = claim.append_basic_block("again"), claim.append_basic_block("done")
    b.branch(again)
    b.position_at_end(again)
    current = load(b, CLAIM)
    part = b.and_(current, i64(0xFFFFFFFF))
    open_ = b.and_(b.icmp_unsigned("==", b.lshr(current, i64(32)), generation), b.icmp_signed("<", part, parts))
    try_ = claim.append_basic_block("try")
    b.cbranch(open_, try_, done)
    b.position_at_end(try_)
    took = b.extract_value(b.cmpxchg(word(b, CLAIM), current, b.add(current, i64(1)), "acq_rel", "acquire"), 1)
    run = claim.append_basic_block("run")
    b.cbranch(took, run, again)
    b.position_at_end(run)
    b.call(Callee(job, _JOB), [context, part, parts])
    b.atomic_rmw("add", word(b, DONE), i64(1), "release")
    b.branch(again)
    b.position_at_end(done)
    b.ret_void()

    # ---- sn_worker(): claim parts of every job until told to quit
    worker = ir.Function(module, ir.FunctionType(ir.VoidType(), []), WORKER)
    b = ir.IRBuilder(worker.append_basic_block("entry"))
    seen, since, nap = b.alloca(I64), b.alloca(I64), b.alloca(timespec)
    nanoseconds = b.gep(nap, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 1)])
    b.store(i64(0), b.gep(nap, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 0)]))
    b.store(load(b, GENERATION), seen)
    b.store(b.call(cycles, []), since)
    spin, work, idle, doze, nap_block = (worker.append_basic_block(n) for n in
                                         ("spin", "work", "idle", "doze", "nap"))
    b.branch(spin)
    b.position_at_end(spin)
    current = load(b, GENERATION)
    b.cbranch(b.icmp_unsigned("!=", current, b.load(seen)), work, idle)

    b.position_at_end(work)
    b.store(current, seen)
    with b.if_then(b.icmp_unsigned("!=", load(b, QUIT), i64(0))):
        b.ret_void()
    b.call(claim, [current, b.inttoptr(load(b, JOB), PTR), b.inttoptr(load(b, CONTEXT), PTR), load(b, PARTS)])
    b.store(b.call(cycles, []), since)
    b.branch(spin)

    b.position_at_end(idle)
    relax(b)
    spun = b.sub(b.call(cycles, []), b.load(since))
    b.store(i64(NAP_NS), nanoseconds)
    b.cbranch(b.icmp_unsigned("<", spun, i64(SPIN_CYCLES)), spin, doze)

    b.position_at_end(doze)  # poll the generation between naps that grow to LONGEST_NAP_NS
    with b.if_then(b.icmp_unsigned("!=", load(b, QUIT), i64(0))):  # a worker started late misses the bump
        b.ret_void()
    b.cbranch(b.icmp_unsigned("!=", load(b, GENERATION), b.load(seen)), spin, nap_block)
    b.position_at_end(nap_block)
    b.call(nanosleep, [nap, ir.Constant(PTR, None)])
    longer = b.mul(b.load(nanoseconds), i64(2))
    b.store(b.select(b.icmp_signed("<", longer, i64(LONGEST_NAP_NS)), longer, i64(LONGEST_NAP_NS)), nanoseconds)
    b.branch(doze)

    # ---- sn_fork(job, context, work): small work alone; else post the job, claim parts with the workers, return
    # when all are done
    fork = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), FORK)
    job, context, work = fork.args
    b = ir.IRBuilder(fork.append_basic_block("entry"))
    alone, check = fork.append_basic_block("alone"), fork.append_basic_block("check")
    workers = load(b, WORKERS)
    wanted = b.sdiv(work, load(b, GRAIN_WORD, "monotonic"))
    b.cbranch(b.and_(b.icmp_signed(">", wanted, i64(1)), b.icmp_signed(">", workers, i64(0))), check, alone)
    b.position_at_end(alone)
    b.call(Callee(job, _JOB), [context, i64(0), i64(1)])
    b.ret_void()

    b.position_at_end(check)
    cool = load(b, COOL, "monotonic")
    cooling = fork.append_basic_block("cooling")
    hot = fork.append_basic_block("hot")
    b.cbranch(b.icmp_signed(">", cool, i64(0)), cooling, hot)
    b.position_at_end(cooling)
    store(b, b.sub(cool, i64(1)), COOL, "monotonic")
    b.branch(alone)
    b.position_at_end(hot)
    take_busy(b, fork, alone)
    cap = b.mul(b.add(workers, i64(1)), i64(2))  # two parts a thread: a descheduled worker holds less
    parts = b.select(b.icmp_signed("<", wanted, cap), wanted, cap)
    generation = b.and_(b.add(load(b, GENERATION), i64(1)), i64(0xFFFFFFFF))
    store(b, 0, DONE, "monotonic")
    store(b, b.shl(generation, i64(32)), CLAIM)
    store(b, b.ptrtoint(job, I64), JOB)
    store(b, b.ptrtoint(context, I64), CONTEXT)
    store(b, parts, PARTS)
    store(b, generation, GENERATION)
    working_since = b.call(cycles, [])
    b.call(claim, [generation, job, context, parts])
    join, joined = fork.append_basic_block("join"), fork.append_basic_block("joined")
    spins = b.alloca(I64)
    b.store(i64(0), spins)
    waiting_since = b.call(cycles, [])
    b.branch(join)
    b.position_at_end(join)  # only parts a worker claimed and is running are left
    count = b.add(b.load(spins), i64(1))
    b.store(count, spins)
    with b.if_then(b.icmp_unsigned("==", b.and_(count, i64(1023)), i64(0)), likely=False):
        b.call(sched_yield, [])  # more threads than cores: let the worker finish its part
    relax(b)
    b.cbranch(b.icmp_unsigned("==", load(b, DONE), parts), joined, join)
    b.position_at_end(joined)
    worked, waited = b.sub(waiting_since, working_since), b.sub(b.call(cycles, []), waiting_since)
    # a worker running its last part keeps the caller at most about as long as the caller's own parts took;
    # much longer, and it was descheduled holding one: the cores are busy elsewhere
    with b.if_then(b.icmp_unsigned(">", waited, b.add(worked, i64(STALL_CYCLES))), likely=False):
        store(b, load(b, BACKOFF_WORD, "monotonic"), COOL, "monotonic")
    store(b, 0, BUSY)
    b.ret_void()

    # ---- sn_stop(): own the pool (after any fork), then tell every worker to quit
    stop = ir.Function(module, ir.FunctionType(ir.VoidType(), []), STOP)
    b = ir.IRBuilder(stop.append_basic_block("entry"))
    wait = stop.append_basic_block("wait")
    b.branch(wait)
    b.position_at_end(wait)
    relax(b)
    take_busy(b, stop, wait)
    store(b, 0, WORKERS, "seq_cst")
    store(b, 1, QUIT, "seq_cst")
    store(b, b.and_(b.add(load(b, GENERATION), i64(1)), i64(0xFFFFFFFF)), GENERATION, "seq_cst")
    store(b, 0, BUSY)
    b.ret_void()
    marshal.define(module)
    return str(module)


class Pool:
    """The process's pool: its native code, its words and its worker threads (``threads − 1`` of them)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.library = Library("pool", lambda: _module(llvm.get_process_triple()), lambda: [FORK])
        self._engine: jit.Engine | None = None
        #: ``sn_marshal`` as a Python callable, once loaded (None: loaded, but this process's layouts differ)
        self.marshal = None
        self._workers: list[threading.Thread] = []
        self._pid = os.getpid()
        self.threads = _default_threads()
        self._grain, self._backoff = GRAIN, BACKOFF
        os.register_at_fork(after_in_child=self._forked)

    def prefetch(self) -> None:
        """Start making the pool's object on a thread of its own, to overlap the caller's work (a graph's IR
        emission): on a fresh cache it is ~40 ms of LLVM that ``ensure`` would otherwise wait for."""
        self.library.prefetch()

    def ensure(self) -> None:
        """Load the pool (registering ``sn_fork`` before any graph links against it), start the workers."""
        if self._engine is not None and self._pid == os.getpid() and len(self._workers) == self.threads - 1:
            return
        engine = self.library.ensure()
        with self._lock:
            if self._engine is None:
                self._words = (ctypes.c_int64 * WORDS).from_address(engine.address("sn_pool_words"))
                self._work = ctypes.CFUNCTYPE(None)(engine.address(WORKER))
                self._stop = ctypes.CFUNCTYPE(None)(engine.address(STOP))
                self.marshal = marshal.load(engine.address(marshal.MARSHAL))
                self._engine = engine  # never closed: workers run its code for the life of the process
                self._words[GRAIN_WORD], self._words[BACKOFF_WORD] = self._grain, self._backoff
            self._pid = os.getpid()
            self._restart()

    @property
    def grain(self) -> int:
        """A part's least work: kernels with less than twice it run whole (tests set it small to split all)."""
        return self._grain

    @grain.setter
    def grain(self, units: int) -> None:
        self._grain = self._setting("grain", units, 1, GRAIN_WORD)

    @property
    def backoff(self) -> int:
        """How many forks run alone after one waited on a descheduled worker (0: never back off; tests that
        count forks use it)."""
        return self._backoff

    @backoff.setter
    def backoff(self, forks: int) -> None:
        self._backoff = self._setting("backoff", forks, 0, BACKOFF_WORD)

    def _setting(self, name: str, value: int, least: int, word: int) -> int:
        """A checked int for one of the pool's settings, written to its word (and the backoff's countdown reset)."""
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name}: expected an int ≥ {least}, got {value!r}")
        if self._engine is not None:
            self._words[word], self._words[COOL] = value, 0
        return value

    @property
    def forks(self) -> int:
        """Jobs posted to the workers so far (mod 2³²): how a test sees that a kernel was split."""
        return int(self._words[GENERATION]) if self._engine is not None else 0

    def set_threads(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_THREADS:
            raise ValueError(f"set_num_threads: expected an int in [1, {MAX_THREADS}], got {n!r}")
        self.threads = n
        if self._engine is not None:
            with self._lock:
                self._restart()

    def _restart(self) -> None:
        """Stop the workers (after any running fork), then start ``threads − 1`` new ones."""
        if self._workers:
            self._stop()
            for thread in self._workers:
                thread.join()
        self._words[QUIT] = 0
        self._workers = [threading.Thread(target=self._work, name=f"symnet-worker-{w}", daemon=True)
                         for w in range(1, self.threads)]
        for thread in self._workers:
            thread.start()
        self._words[WORKERS] = len(self._workers)

    def _forked(self) -> None:
        """In a child process the workers are gone: forks go alone until ``ensure`` starts new ones."""
        self._workers = []
        if self._engine is not None:
            self._words[WORKERS] = self._words[BUSY] = 0


def _default_threads() -> int:
    """``SYMNET_NUM_THREADS``, else the cores this process may run on."""
    value = os.environ.get("SYMNET_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= MAX_THREADS:
            raise ValueError(f"SYMNET_NUM_THREADS must be an int in [1, {MAX_THREADS}], got {value!r}")
        return int(value)
    try:
        return max(1, min(len(os.sched_getaffinity(0)), MAX_THREADS))
    except AttributeError:  # not on Linux
        return max(1, min(os.cpu_count() or 1, MAX_THREADS))


POOL = Pool()


def set_num_threads(n: int) -> None:
    """The number of threads compiled code runs on, as ``torch.set_num_threads`` (1: the caller's alone)."""
    POOL.set_threads(n)


def get_num_threads() -> int:
    return POOL.threads
