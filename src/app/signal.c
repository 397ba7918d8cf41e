/* Guest signals.
 *
 * The guest's dispositions and masks are mirrored onto the host process:
 * SIG_DFL and SIG_IGN become the host's own (so the host kernel kills,
 * stops or ignores exactly as it would the guest, keeps ignored signals
 * across execve and turns SIGPIPE into EPIPE), a guest handler becomes a
 * host handler that queues the siginfo on the receiving thread and stops
 * its hart; the app loop then builds the riscv64 rt_sigframe (siginfo +
 * ucontext, arch/riscv/include/uapi/asm/{ucontext,sigcontext}.h) on the
 * guest stack and enters the handler with ra at the sigreturn trampoline.
 * The guest mask is the host thread's mask, so the host kernel picks the
 * receiving thread and keeps blocked signals pending.
 *
 * Raw rt_sigaction/rt_sigprocmask are used because glibc hides the two
 * real-time signals it reserves (32, 33), which a riscv64 glibc inside the
 * guest uses for its own thread cancellation and setxid. */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "condo/engine.h"
#include "condo/jail.h"
#include "condo/jit.h"
#include "condo/log.h"

__thread struct app_thread *app_current;

/* ---- the riscv64 signal frame ---- */

struct guest_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct guest_sigcontext {
	uint64_t regs[32]; /* pc, then x1..x31 (struct user_regs_struct) */
	/* union __riscv_fp_state: the D layout inside the Q-sized, 16-byte
	 * aligned union; the rest is reserved and zero. */
	uint64_t fpregs[32];
	uint32_t fcsr;
	uint32_t reserved[67];
} __attribute__((aligned(16)));

struct guest_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct guest_stack uc_stack;
	uint64_t uc_sigmask;
	uint8_t unused[1024 / 8 - 8];
	struct guest_sigcontext uc_mcontext;
};

struct guest_rt_sigframe {
	uint8_t info[128]; /* siginfo_t: same layout on riscv64 and x86-64 */
	struct guest_ucontext uc;
};

_Static_assert(sizeof(struct guest_sigcontext) == 784, "riscv sigcontext size");
_Static_assert(offsetof(struct guest_ucontext, uc_mcontext) == 176, "uc_mcontext offset");
_Static_assert(sizeof(struct guest_ucontext) == 960, "riscv ucontext size");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo size");

#define GUEST_SS_ONSTACK 1
#define GUEST_SS_DISABLE 2
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
/* Never blocked on the host: a host fault on a blocked SIGSEGV or SIGBUS
 * kills the process, and compiled code's direct guest accesses fault by
 * design (docs/app-mode.md); the guest's mask still holds them back. */
#define HOST_UNBLOCKED (UNBLOCKABLE | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS))

/* ---- raw host calls ---- */

struct host_sigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#if defined(__x86_64__)
/* x86-64 needs SA_RESTORER: the handler returns here. */
void condo_host_sigreturn(void);
__asm__(".pushsection .text\n"
	".type condo_host_sigreturn,@function\n"
	"condo_host_sigreturn:\n"
	"\tmov $15, %rax\n" /* __NR_rt_sigreturn */
	"\tsyscall\n"
	".size condo_host_sigreturn, .-condo_host_sigreturn\n"
	".popsection\n");
#define HOST_RESTORER condo_host_sigreturn
#define HOST_SA_RESTORER 0x04000000
#else
#define HOST_RESTORER NULL
#define HOST_SA_RESTORER 0
#endif

static int host_sigaction(int sig, void *handler, unsigned long flags, uint64_t mask)
{
	struct host_sigaction sa = { handler, flags | HOST_SA_RESTORER, HOST_RESTORER, mask };
	return (int)syscall(SYS_rt_sigaction, sig, &sa, NULL, 8);
}

void sig_set_host_mask(uint64_t mask)
{
	sig_set_host_mask_exact(mask & ~HOST_UNBLOCKED);
}

void sig_set_host_mask_exact(uint64_t mask)
{
	mask &= ~UNBLOCKABLE;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
}

uint64_t sig_host_mask(void)
{
	uint64_t mask = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
	return mask & ~UNBLOCKABLE;
}

/* ---- host handler: record and stop the hart ---- */

static bool in_reservation(const struct app_thread *t, const void *addr)
{
	const struct app_mm *mm = &t->proc->mm;
	return (const uint8_t *)addr >= mm->host_base &&
	       (const uint8_t *)addr < mm->host_base + mm->size;
}

static void sig_push(struct app_thread *t, const siginfo_t *si, void *uc);

/* SIGSEGV (direct accesses, below), SIGBUS (a shrunk mapped file) and
 * SIGSYS (the jail's report of a forbidden host call) stay condo's whatever
 * the guest's disposition. */
static bool always_caught(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGSYS;
}

/* A host fault (si_code > 0: raised by the kernel, never sent) in guest
 * memory at one of the recorded accesses: compiled code's direct ones
 * resume at their slow path, which makes the access through the TLB,
 * raising the guest's fault or reporting a write to a page of code; C
 * code's fault-tolerant ones (the interpreter, AMOs, the slow paths, the
 * decoder's fetch, cpu/guest_access.h) resume at their fixup, which
 * translates again: another thread took the page or made it code since
 * the translation was made (docs/jit.md). */
static bool resume_guest_access(struct app_thread *t, int sig, const siginfo_t *si, void *uc)
{
#if defined(__x86_64__)
	const struct app_mm *mm = &t->proc->mm;
	const uint8_t *a = si->si_addr;
	ucontext_t *ctx = uc;
	uintptr_t pc = (uintptr_t)ctx->uc_mcontext.gregs[REG_RIP], to;

	if (!t->hart || a < mm->host_base || a >= mm->host_base + mm->size + GUEST_PAGE_SIZE)
		return false;
	to = jit_fault_resume(engine_jit(t->hart), pc);
	/* SIGBUS (a mapped file that shrank) is no stale translation. */
	if (!to && sig == SIGSEGV)
		to = cpu_guest_fixup(pc);
	if (!to)
		return false;
	ctx->uc_mcontext.gregs[REG_RIP] = (greg_t)to;
	return true;
#else
	(void)t, (void)sig, (void)si, (void)uc;
	return false;
#endif
}

static void host_handler(int sig, siginfo_t *si, void *uc)
{
	struct app_thread *t = app_current;
	if (sig == SIGSYS && si->si_code == 1 /* SYS_SECCOMP */)
		jail_on_sigsys(sig, si, uc); /* does not return */
	if (sig_is_fault(sig, si->si_code)) {
		if (t && (sig == SIGSEGV || sig == SIGBUS) && resume_guest_access(t, sig, si, uc))
			return;
		/* A fault in condo itself: the guest can send none of these
		 * (sys_signal.c keeps them in-process).  A guarded copy of a
		 * system call returns EFAULT; SIGBUS inside the reservation is
		 * the guest touching a mapped file that shrank: its SIGBUS. */
		if (t && (sig == SIGBUS || sig == SIGSEGV) && in_reservation(t, si->si_addr))
			mm_copy_fault();
		if (t && sig == SIGBUS && in_reservation(t, si->si_addr)) {
			char msg[160];
			uint64_t ga = (uint64_t)((uint8_t *)si->si_addr - t->proc->mm.host_base);
			snprintf(msg, sizeof(msg),
				 "guest killed by SIGBUS: access past the end of a mapped file at "
				 "pc 0x%llx (address 0x%llx)",
				 (unsigned long long)t->hart->pc, (unsigned long long)ga);
			sig_die(t, SIGBUS, msg);
		}
		host_sigaction(sig, SIG_DFL, 0, 0);
		return; /* the fault repeats and kills condo with a core */
	}
	if (!t)
		return;
	if ((SIGBIT(sig) & HOST_UNBLOCKED) && (t->blocked & SIGBIT(sig))) {
		/* What the host would have kept pending (one, as for any
		 * standard signal) until set_blocked() unblocks it. */
		if (sig == SIGSEGV) {
			t->segv_info = *si;
			t->segv_held = true;
		} else if (sig == SIGBUS) {
			t->bus_info = *si;
			t->bus_held = true;
		}
		return;
	}
	if (always_caught(sig) && t->proc->sigact[sig].handler <= GUEST_SIG_IGN) {
		/* Our handler stays installed for the cases above; a SIGBUS or
		 * SIGSYS sent by someone gets the guest's disposition. */
		if (t->proc->sigact[sig].handler == GUEST_SIG_IGN)
			return;
		host_sigaction(sig, SIG_DFL, 0, 0);
		sig_set_host_mask(0);
		syscall(SYS_tgkill, getpid(), gettid(), sig);
		return;
	}
	sig_push(t, si, uc);
}

/* Queue si for the app loop of t (the thread this runs on, with every
 * signal blocked).  When the queue fills up, the thread returns from the
 * handler with every signal blocked, so the host kernel keeps the rest
 * pending (real-time ones queued, up to RLIMIT_SIGPENDING) until the app
 * loop has delivered these and sig_deliver_pending unblocks again. */
static void sig_push(struct app_thread *t, const siginfo_t *si, void *uc)
{
	struct sig_queue *q = &t->sigq;
	unsigned head = q->head;
	if (head - q->tail < SIGQ_LEN) {
		q->info[head % SIGQ_LEN] = *si;
		__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
		head++;
	}
	if (head - q->tail >= SIGQ_LEN && uc) {
		sigfillset(&((ucontext_t *)uc)->uc_sigmask);
		sigdelset(&((ucontext_t *)uc)->uc_sigmask, SIGSEGV); /* HOST_UNBLOCKED */
		sigdelset(&((ucontext_t *)uc)->uc_sigmask, SIGBUS);
		t->sigq_throttled = true;
	}
	if (t->hart)
		t->hart->stop_request = 1;
}

bool sig_is_fault(int sig, int code)
{
	/* SIGSYS too: with SYS_SECCOMP it is the jail's report of a violation */
	return code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
			    sig == SIGTRAP || sig == SIGSYS);
}

void sig_queue_self(struct app_thread *t, const siginfo_t *si)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sig_push(t, si, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void host_install(struct app_proc *p, int sig)
{
	const struct guest_sigaction *ga = &p->sigact[sig];
	unsigned long flags = 0;
	void *handler;

	if (sig == SIGKILL || sig == SIGSTOP)
		return;
	if (sig == SIGCHLD)
		flags |= ga->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT);
	if (ga->handler == GUEST_SIG_DFL && !always_caught(sig))
		handler = SIG_DFL;
	else if (ga->handler == GUEST_SIG_IGN && !always_caught(sig))
		handler = SIG_IGN;
	else {
		handler = (void *)host_handler;
		/* No SA_RESTART: a blocking host call returns EINTR so the app
		 * loop can run the guest handler and restart per the guest's flags. */
		flags |= SA_SIGINFO;
	}
	host_sigaction(sig, handler, flags, ~0ull);
}

void sig_init_proc(struct app_proc *p)
{
	for (int sig = 1; sig <= APP_NSIG; sig++) {
		struct host_sigaction old;
		memset(&p->sigact[sig], 0, sizeof(p->sigact[sig]));
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, 8) == 0 && old.handler == SIG_IGN)
			p->sigact[sig].handler = GUEST_SIG_IGN;
		host_install(p, sig);
	}
}

int sig_set_action(struct app_proc *p, int sig, const struct guest_sigaction *act)
{
	p->sigact[sig] = *act;
	p->sigact[sig].mask &= ~UNBLOCKABLE;
	host_install(p, sig);
	return 0;
}

const char *sig_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP",	   [SIGINT] = "SIGINT",	    [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL",	   [SIGTRAP] = "SIGTRAP",   [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",	   [SIGFPE] = "SIGFPE",	    [SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1",	   [SIGSEGV] = "SIGSEGV",   [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE",	   [SIGALRM] = "SIGALRM",   [SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD",   [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP",	   [SIGTSTP] = "SIGTSTP",   [SIGTTIN] = "SIGTTIN",
		[SIGTTOU] = "SIGTTOU",	   [SIGURG] = "SIGURG",	    [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ",	   [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
		[SIGWINCH] = "SIGWINCH",   [SIGIO] = "SIGIO",	    [SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};
	static __thread char rt[16];
	if (sig > 0 && sig < (int)ARRAY_SIZE(names) && names[sig])
		return names[sig];
	snprintf(rt, sizeof(rt), "SIG%d", sig);
	return rt;
}

/* ---- ending the process ---- */

_Noreturn void sig_die(struct app_thread *t, int sig, const char *report)
{
	if (report)
		log_err("app", "%s", report);
	/* A child of a guest process dies by the real signal so its guest
	 * parent's wait4 sees WIFSIGNALED; condo itself exits 128+sig. */
	if (t->proc->cfg.forked_child) {
		host_sigaction(sig, SIG_DFL, 0, 0);
		sig_set_host_mask(0);
		syscall(SYS_tgkill, getpid(), gettid(), sig);
	}
	_exit(128 + sig);
}

/* The default action of sig for a queued signal whose handler is gone. */
static void default_action(struct app_thread *t, int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGURG:
	case SIGWINCH:
		return;
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		kill(getpid(), SIGSTOP);
		return;
	default:
		host_sigaction(sig, SIG_DFL, 0, 0);
		sig_set_host_mask(0);
		syscall(SYS_tgkill, getpid(), gettid(), sig);
		_exit(128 + sig);
	}
}

/* ---- building and unwinding frames ---- */

static bool on_altstack(const struct app_thread *t, gva_t sp)
{
	return t->ss_size && sp > t->ss_sp && sp - t->ss_sp <= t->ss_size;
}

static void set_blocked(struct app_thread *t, uint64_t mask)
{
	t->blocked = mask & ~UNBLOCKABLE;
	sig_set_host_mask(t->blocked);
	sig_release_held(t);
}

uint64_t sig_held_set(const struct app_thread *t)
{
	return (t->segv_held ? SIGBIT(SIGSEGV) : 0) | (t->bus_held ? SIGBIT(SIGBUS) : 0);
}

int sig_take_held(struct app_thread *t, uint64_t set, siginfo_t *si)
{
	if (t->segv_held && (set & SIGBIT(SIGSEGV))) {
		t->segv_held = false;
		*si = t->segv_info;
		return SIGSEGV;
	}
	if (t->bus_held && (set & SIGBIT(SIGBUS))) {
		t->bus_held = false;
		*si = t->bus_info;
		return SIGBUS;
	}
	return 0;
}

void sig_release_held(struct app_thread *t)
{
	if (t->segv_held && !(t->blocked & SIGBIT(SIGSEGV))) {
		t->segv_held = false;
		sig_queue_self(t, &t->segv_info);
	}
	if (t->bus_held && !(t->blocked & SIGBIT(SIGBUS))) {
		t->bus_held = false;
		sig_queue_self(t, &t->bus_info);
	}
}

static void setup_frame(struct app_thread *t, int sig, const siginfo_t *si,
			const struct guest_sigaction *ga)
{
	struct hart *h = t->hart;
	struct app_proc *p = t->proc;
	gva_t sp = h->x[2];
	bool was_on_alt = on_altstack(t, sp);

	if ((ga->flags & SA_ONSTACK) && t->ss_size && !(t->ss_flags & GUEST_SS_DISABLE) &&
	    !was_on_alt)
		sp = t->ss_sp + t->ss_size;
	sp = (sp - sizeof(struct guest_rt_sigframe)) & ~15ull;
	/* Built here and copied out: another thread may unmap the stack
	 * meanwhile (the copy then fails as the guest's fault). */
	struct guest_rt_sigframe frame, *f = &frame;
	memset(f, 0, sizeof(*f));
	memcpy(f->info, si, sizeof(f->info));
	f->uc.uc_stack.ss_sp = t->ss_sp;
	f->uc.uc_stack.ss_size = t->ss_size;
	f->uc.uc_stack.ss_flags = !t->ss_size			       ? GUEST_SS_DISABLE
				  : on_altstack(t, h->x[2]) ? GUEST_SS_ONSTACK
							       : t->ss_flags;
	uint64_t old_mask = t->saved_mask_valid ? t->saved_mask : t->blocked;
	f->uc.uc_sigmask = old_mask;
	f->uc.uc_mcontext.regs[0] = h->pc;
	for (int i = 1; i < 32; i++)
		f->uc.uc_mcontext.regs[i] = h->x[i];
	for (int i = 0; i < 32; i++)
		f->uc.uc_mcontext.fpregs[i] = h->f[i];
	f->uc.uc_mcontext.fcsr = cpu_fcsr(h);
	if (mm_write(&p->mm, sp, f, sizeof(*f))) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "guest killed by SIGSEGV: cannot write the frame for %s at sp 0x%llx",
			 sig_name(sig), (unsigned long long)sp);
		sig_die(t, SIGSEGV, msg);
	}

	h->pc = ga->handler;
	h->x[1] = p->sigreturn_tramp;
	h->x[2] = sp;
	h->x[10] = (uint64_t)sig;
	h->x[11] = sp + offsetof(struct guest_rt_sigframe, info);
	h->x[12] = sp + offsetof(struct guest_rt_sigframe, uc);

	t->saved_mask_valid = false;
	uint64_t mask = old_mask | ga->mask;
	if (!(ga->flags & SA_NODEFER))
		mask |= SIGBIT(sig);
	set_blocked(t, mask);
	if (ga->flags & SA_RESETHAND) {
		struct guest_sigaction dfl = { 0 };
		pthread_mutex_lock(&p->lock);
		sig_set_action(p, sig, &dfl);
		pthread_mutex_unlock(&p->lock);
	}
}

int64_t sig_return(struct app_thread *t)
{
	struct hart *h = t->hart;
	/* sp need not be aligned, and another thread may unmap the frame
	 * meanwhile: copied in. */
	struct guest_ucontext uc;
	if (mm_read(&t->proc->mm, &uc, h->x[2] + offsetof(struct guest_rt_sigframe, uc),
		    sizeof(uc))) {
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "guest killed by SIGSEGV: bad signal frame at sp 0x%llx in rt_sigreturn",
			 (unsigned long long)h->x[2]);
		sig_die(t, SIGSEGV, msg);
	}
	h->pc = uc.uc_mcontext.regs[0];
	for (int i = 1; i < 32; i++)
		h->x[i] = uc.uc_mcontext.regs[i];
	for (int i = 0; i < 32; i++)
		h->f[i] = uc.uc_mcontext.fpregs[i];
	h->fflags = uc.uc_mcontext.fcsr & 0x1f;
	h->frm = (uc.uc_mcontext.fcsr >> 5) & 7;
	set_blocked(t, uc.uc_sigmask);
	/* restore_altstack(): errors are ignored, as in the kernel. */
	if (!on_altstack(t, h->x[2])) {
		if (uc.uc_stack.ss_flags & GUEST_SS_DISABLE) {
			t->ss_sp = 0;
			t->ss_size = 0;
			t->ss_flags = GUEST_SS_DISABLE;
		} else if (uc.uc_stack.ss_size >= 2048) {
			t->ss_sp = uc.uc_stack.ss_sp;
			t->ss_size = uc.uc_stack.ss_size;
			t->ss_flags = uc.uc_stack.ss_flags & ~GUEST_SS_ONSTACK;
		}
	}
	return (int64_t)h->x[10];
}

/* ---- delivery ---- */

bool sig_pending(struct app_thread *t)
{
	return __atomic_load_n(&t->sigq.head, __ATOMIC_ACQUIRE) != t->sigq.tail;
}

bool sig_deliverable(struct app_thread *t)
{
	struct sig_queue *q = &t->sigq;
	unsigned head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
	for (unsigned i = q->tail; i != head; i++) {
		int sig = q->info[i % SIGQ_LEN].si_signo;
		if (sig >= 1 && sig <= APP_NSIG && !(t->blocked & SIGBIT(sig)))
			return true;
	}
	return false;
}

static bool sig_pop(struct app_thread *t, siginfo_t *si)
{
	struct sig_queue *q = &t->sigq;
	if (!sig_pending(t))
		return false;
	*si = q->info[q->tail % SIGQ_LEN];
	__atomic_store_n(&q->tail, q->tail + 1, __ATOMIC_RELEASE);
	return true;
}

void sig_deliver_pending(struct app_thread *t, bool interrupted, bool restart, uint64_t orig_a0)
{
	struct app_proc *p = t->proc;
	siginfo_t si;
	bool first = true;

	while (sig_pop(t, &si)) {
		int sig = si.si_signo;
		if (sig < 1 || sig > APP_NSIG)
			continue;
		if (t->blocked & SIGBIT(sig)) {
			/* Blocked since it was queued: let the host keep it pending. */
			syscall(SYS_tgkill, getpid(), t->tid, sig);
			continue;
		}
		pthread_mutex_lock(&p->lock);
		struct guest_sigaction ga = p->sigact[sig];
		pthread_mutex_unlock(&p->lock);
		if (ga.handler == GUEST_SIG_IGN)
			continue;
		if (ga.handler == GUEST_SIG_DFL) {
			default_action(t, sig);
			continue;
		}
		if (first && interrupted) {
			/* The syscall's pc was already advanced past the ecall. */
			if (restart && (ga.flags & SA_RESTART)) {
				t->hart->pc -= 4;
				t->hart->x[10] = orig_a0;
			}
		}
		first = false;
		if (p->trace)
			fprintf(stderr, "[%d] --- %s {si_code=%d} ---\n", t->tid, sig_name(sig),
				si.si_code);
		setup_frame(t, sig, &si, &ga);
	}
	if (t->saved_mask_valid) {
		t->saved_mask_valid = false;
		set_blocked(t, t->saved_mask);
	} else if (t->sigq_throttled) {
		/* The queue is empty again: let the host deliver the rest. */
		t->sigq_throttled = false;
		sig_set_host_mask(t->blocked);
	}
}

void sig_fault(struct app_thread *t, uint64_t cause, uint64_t tval)
{
	struct hart *h = t->hart;
	struct app_proc *p = t->proc;
	int sig, code;
	uint64_t addr = tval;
	bool mem = false;
	struct vma v;

	switch (cause) {
	case CAUSE_INSN_MISALIGNED:
		sig = SIGBUS, code = BUS_ADRALN, mem = true;
		break;
	case CAUSE_LOAD_MISALIGNED:
	case CAUSE_STORE_MISALIGNED:
		sig = SIGBUS, code = BUS_ADRALN, mem = true;
		break;
	case CAUSE_ILLEGAL_INSN:
		sig = SIGILL, code = ILL_ILLOPC, addr = h->pc;
		break;
	case CAUSE_BREAKPOINT:
		sig = SIGTRAP, code = TRAP_BRKPT, addr = h->pc;
		break;
	default:
		sig = SIGSEGV, mem = true;
		code = SEGV_MAPERR;
		if (mm_lookup(&p->mm, tval, &v)) {
			code = SEGV_ACCERR;
			if (v.flags & VMA_SIGBUS)
				sig = SIGBUS, code = BUS_ADRERR;
		}
		break;
	}

	pthread_mutex_lock(&p->lock);
	struct guest_sigaction ga = p->sigact[sig];
	pthread_mutex_unlock(&p->lock);
	if (ga.handler > GUEST_SIG_IGN && !(t->blocked & SIGBIT(sig))) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = code;
		si.si_addr = (void *)(uintptr_t)addr;
		if (p->trace)
			fprintf(stderr, "[%d] --- %s {si_code=%d, si_addr=0x%llx} ---\n", t->tid,
				sig_name(sig), code, (unsigned long long)addr);
		setup_frame(t, sig, &si, &ga);
		return;
	}

	char msg[200];
	if (cause == CAUSE_ILLEGAL_INSN)
		snprintf(msg, sizeof(msg), "guest killed by %s: %s at pc 0x%llx (instruction 0x%llx)",
			 sig_name(sig), cpu_cause_name(cause), (unsigned long long)h->pc,
			 (unsigned long long)tval);
	else if (mem)
		snprintf(msg, sizeof(msg), "guest killed by %s: %s at pc 0x%llx (address 0x%llx)",
			 sig_name(sig), cpu_cause_name(cause), (unsigned long long)h->pc,
			 (unsigned long long)tval);
	else
		snprintf(msg, sizeof(msg), "guest killed by %s: %s at pc 0x%llx", sig_name(sig),
			 cpu_cause_name(cause), (unsigned long long)h->pc);
	sig_die(t, sig, msg);
}
