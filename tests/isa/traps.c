/*
 * traps.c — the instructions whose specified behaviour is a trap, as a Linux
 * program sees it (a signal whose siginfo address and ucontext pc are the
 * trapping instruction):
 *   - EBREAK and C.EBREAK raise a breakpoint exception -> SIGTRAP;
 *   - an F/D instruction with a reserved static rm (101, 110), or with
 *     rm = dyn while frm holds 101..111, is illegal (F chapter, "Rounding
 *     Mode") -> SIGILL; a static rm is still fine with a bad frm;
 *   - writing a read-only CSR is illegal, and csrrs/csrrc with rs1 != x0 or
 *     csrrsi/csrrci with uimm != 0 count as writes even when no bit changes
 *     (Zicsr chapter); reading an M- or S-mode CSR from U-mode is illegal;
 *   - the all-zero 16-bit parcel and the all-ones 32-bit word are illegal.
 * The handler steps over the instruction and execution carries on.
 *
 * qemu-riscv64 7.2 decides "is this a write" from the value in rs1 rather
 * than from rs1 != x0, so it does not trap csrrs/csrrc on a read-only CSR
 * when rs1 holds zero. tests/isa/qemu-shim.sh sets ISA_KNOWN_QEMU_DEVIATIONS
 * so that check is skipped (and said so) under qemu only.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <ucontext.h>

#include "test.h"

static volatile uint64_t trap_count, trap_sig, trap_addr, trap_pc, trap_code;
static volatile int trap_skip; /* bytes to step over */

static void handler(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;

	trap_count++;
	trap_sig = sig;
	trap_code = info->si_code;
	trap_addr = (uint64_t)(uintptr_t)info->si_addr;
	trap_pc = uc->uc_mcontext.__gregs[REG_PC];
	uc->uc_mcontext.__gregs[REG_PC] += trap_skip;
}

static void reset(int skip)
{
	trap_count = trap_sig = trap_addr = trap_pc = trap_code = 0;
	trap_skip = skip;
}

/* run pre, then insn (asm text), and expect exactly one signal sig raised
 * by insn, after which execution resumes behind it */
#define EXPECT_TRAP_PRE(label, sig, code, len, pre, insn)                                          \
	do {                                                                                       \
		uint64_t at, after = 0;                                                            \
		reset(len);                                                                        \
		asm volatile(pre "\n\t"                                                            \
				 "lla %0, 1f\n\t"                                                  \
				 "li %1, 0\n"                                                      \
				 "1:\t" insn "\n\t"                                                \
				 "li %1, 1"                                                        \
			     : "=&r"(at), "=&r"(after)                                             \
			     :                                                                     \
			     : "memory", "ft0", "t0", "t1");                                       \
		CHECK_EQ(label ": signals", trap_count, 1);                                        \
		CHECK_EQ(label ": signal number", trap_sig, sig);                                  \
		CHECK_EQ(label ": si_code", trap_code, code);                                      \
		CHECK_EQ(label ": si_addr", trap_addr, at);                                        \
		CHECK_EQ(label ": pc", trap_pc, at);                                               \
		CHECK_EQ(label ": resumed", after, 1);                                             \
	} while (0)
#define EXPECT_TRAP(label, sig, code, len, insn) EXPECT_TRAP_PRE(label, sig, code, len, "", insn)

#define NORVC(insn) ".option push\n\t.option norvc\n\t" insn "\n\t.option pop"

/* the same with frm set to mode for the duration */
#define EXPECT_TRAP_FRM(label, mode, insn)                                                         \
	do {                                                                                       \
		asm volatile("fsrmi %0" : : "i"(mode));                                            \
		EXPECT_TRAP(label, SIGILL, ILL_ILLOPC, 4, NORVC(insn));                            \
		asm volatile("fsrmi 0");                                                           \
	} while (0)

int main(void)
{
	struct sigaction sa = {0};
	uint64_t v;

	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, NULL) || sigaction(SIGILL, &sa, NULL)) {
		CHECK_EQ("sigaction", 1, 0);
		return test_done("traps");
	}

	EXPECT_TRAP("ebreak", SIGTRAP, TRAP_BRKPT, 4, NORVC("ebreak"));
	EXPECT_TRAP("c.ebreak", SIGTRAP, TRAP_BRKPT, 2, "c.ebreak");

	EXPECT_TRAP("fadd.s rm=101", SIGILL, ILL_ILLOPC, 4, ".insn r 0x53, 5, 0, ft0, ft0, ft0");
	EXPECT_TRAP("fadd.d rm=110", SIGILL, ILL_ILLOPC, 4, ".insn r 0x53, 6, 1, ft0, ft0, ft0");
	EXPECT_TRAP("fsqrt.d rm=101", SIGILL, ILL_ILLOPC, 4,
		    ".insn r 0x53, 5, 0x2d, ft0, ft0, ft0");
	EXPECT_TRAP_FRM("fadd.s dyn, frm=101", 5, "fadd.s ft0, ft0, ft0, dyn");
	EXPECT_TRAP_FRM("fmul.d dyn, frm=110", 6, "fmul.d ft0, ft0, ft0, dyn");
	EXPECT_TRAP_FRM("fcvt.w.s dyn, frm=111", 7, "fcvt.w.s t0, ft0, dyn");
	EXPECT_TRAP_FRM("fmadd.d dyn, frm=111", 7, "fmadd.d ft0, ft0, ft0, ft0, dyn");

	/* a bad frm is only a problem for dyn: static rm and no-rm ops run */
	reset(0);
	asm volatile("fsrmi 7\n\t"
		     "fadd.s ft0, ft0, ft0, rne\n\t"
		     "fsgnj.d ft0, ft0, ft0\n\t"
		     "fmin.s ft0, ft0, ft0\n\t"
		     "frrm %0\n\t"
		     "fsrmi 0"
		     : "=r"(v)
		     :
		     : "ft0");
	CHECK_EQ("static rm with frm=111: no trap", trap_count, 0);
	CHECK_EQ("frm holds 111", v, 7);

	EXPECT_TRAP("csrw cycle", SIGILL, ILL_ILLOPC, 4, "csrw cycle, zero");
	EXPECT_TRAP("csrrw time", SIGILL, ILL_ILLOPC, 4, "csrrw t0, time, zero");
	if (getenv("ISA_KNOWN_QEMU_DEVIATIONS"))
		printf(
		    "traps: skipped \"csrrs instret, rs1!=x0 holding 0\" (qemu 7.2 deviation)\n");
	else
		EXPECT_TRAP_PRE("csrrs instret, rs1!=x0 holding 0", SIGILL, ILL_ILLOPC, 4,
				"li t1, 0", "csrrs t0, instret, t1");
	EXPECT_TRAP_PRE("csrrc cycle, rs1!=x0 holding 1", SIGILL, ILL_ILLOPC, 4, "li t1, 1",
			"csrrc t0, cycle, t1");
	EXPECT_TRAP("csrrsi time, uimm!=0", SIGILL, ILL_ILLOPC, 4, "csrrsi t0, time, 1");
	EXPECT_TRAP("csrrwi cycle, 0", SIGILL, ILL_ILLOPC, 4, "csrrwi t0, cycle, 0");
	EXPECT_TRAP("csrr mstatus from U-mode", SIGILL, ILL_ILLOPC, 4, "csrr t0, mstatus");
	EXPECT_TRAP("csrr sstatus from U-mode", SIGILL, ILL_ILLOPC, 4, "csrr t0, sstatus");

	EXPECT_TRAP("all-zero parcel", SIGILL, ILL_ILLOPC, 2, ".2byte 0");
	EXPECT_TRAP("all-ones word", SIGILL, ILL_ILLOPC, 4, ".4byte 0xffffffff");

	return test_done("traps");
}
