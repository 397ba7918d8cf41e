/* counters.c — the counter CSRs (priv 1.12 §3.1.10-§3.1.12, §4.1.5;
 * Zicntr; Zicsr "CSRs modified as side effects"): mcounteren and
 * scounteren gate cycle/time/instret (and hpmcounter3) for S and U;
 * minstret counts retired instructions exactly, counts in every mode, a
 * CSR write replaces that instruction's increment; mcountinhibit stops
 * mcycle and minstret; time agrees with the CLINT's mtime. */
#include "priv.h"

static struct hart *H;

static long rd_cycle(long x) { (void)x; return (long)probe_csrr_cycle(); }
static long rd_time(long x) { (void)x; return (long)probe_csrr_time(); }
static long rd_instret(long x) { (void)x; return (long)probe_csrr_instret(); }
static long rd_hpm3(long x) { (void)x; return (long)probe_csrr_hpmcounter3(); }

static void gating(void)
{
	static const struct {
		const char *name;
		long (*fn)(long);
		uint64_t (*probe)(void);
		int bit;
	} ctr[] = {
		{ "cycle", rd_cycle, probe_csrr_cycle, 0 },
		{ "time", rd_time, probe_csrr_time, 1 },
		{ "instret", rd_instret, probe_csrr_instret, 2 },
	};

	section("mcounteren and scounteren: CY, TM, IR are writable");
	csr_write(mcounteren, 7);
	csr_write(scounteren, 7);
	CHECK_EQ(csr_read(mcounteren) & 7, 7);
	CHECK_EQ(csr_read(scounteren) & 7, 7);
	csr_write(mcounteren, 0);
	csr_write(scounteren, 0);
	CHECK_EQ(csr_read(mcounteren) & 7, 0);
	CHECK_EQ(csr_read(scounteren) & 7, 0);

	for (unsigned c = 0; c < 3; c++) {
		for (int m = 0; m < 2; m++) {
			for (int s = 0; s < 2; s++) {
				sectionf("%s from S and U with mcounteren.%d = %d, scounteren.%d = %d",
					 ctr[c].name, ctr[c].bit, m, ctr[c].bit, s);
				/* the other counters enabled, so only this bit decides */
				csr_write(mcounteren, 7 & ~(uint64_t)((!m) << ctr[c].bit));
				csr_write(scounteren, 7 & ~(uint64_t)((!s) << ctr[c].bit));
				for (int mode = PRV_U; mode <= PRV_S; mode++) {
					int allowed = m && (mode == PRV_S || s);
					trap_reset();
					long v = lower_call(mode, ctr[c].fn, 0, 0);
					if (allowed) {
						CHECK_NO_EXC();
						CHECK(v != (long)FAULT_VALUE);
					} else {
						CHECK_EQ(v, FAULT_VALUE);
						CHECK_EXC(PRV_M, CAUSE_ILLEGAL, ctr[c].probe, ANY_TVAL);
						CHECK_EQ(H->exc.from, mode);
					}
				}
			}
		}
	}

	section("hpmcounter3 from S with mcounteren.HPM3 = 0 is illegal");
	csr_write(mcounteren, 7);
	trap_reset();
	CHECK_EQ(RUN_S(rd_hpm3, 0), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_ILLEGAL, probe_csrr_hpmcounter3, ANY_TVAL);
	csr_write(mcounteren, 7);
	csr_write(scounteren, 7);
	trap_reset();
}

/* instret across 10 nops (5 of them compressed) and the first read */
static long instret_10_nops(long x)
{
	uint64_t a, b;
	(void)x;
	__asm__ volatile("csrr %0, instret\n"
			 ".option push\n.option norvc\n"
			 "nop\nnop\nnop\nnop\nnop\n"
			 ".option pop\n"
			 "c.nop\nc.nop\nc.nop\nc.nop\nc.nop\n"
			 "csrr %1, instret\n"
			 : "=&r"(a), "=r"(b) :: "memory");
	return (long)(b - a);
}

static void instret(void)
{
	uint64_t a, b;

	section("minstret counts exactly: 2 reads around 10 nops differ by 11");
	__asm__ volatile("csrr %0, minstret\n"
			 ".option push\n.option norvc\n"
			 "nop\nnop\nnop\nnop\nnop\n"
			 ".option pop\n"
			 "c.nop\nc.nop\nc.nop\nc.nop\nc.nop\n"
			 "csrr %1, minstret\n"
			 : "=&r"(a), "=r"(b) :: "memory");
	CHECK_EQ(b - a, 11);
	__asm__ volatile("csrr %0, minstret\n"
			 "csrr %1, minstret\n"
			 : "=&r"(a), "=r"(b) :: "memory");
	CHECK_EQ(b - a, 1);

	section("minstret counts a loop exactly: 1 + 1 + 2 * 1000");
	__asm__ volatile("csrr %0, minstret\n"
			 "li t0, 1000\n"
			 "1: addi t0, t0, -1\n"
			 "bnez t0, 1b\n"
			 "csrr %1, minstret\n"
			 : "=&r"(a), "=r"(b) :: "t0", "memory");
	CHECK_EQ(b - a, 2002);

	section("instret counts exactly in M, S and U");
	CHECK_EQ(instret_10_nops(0), 11);
	CHECK_EQ(RUN_S(instret_10_nops, 0), 11);
	CHECK_EQ(RUN_U(instret_10_nops, 0), 11);

	section("minstret and mcycle are separate counters: writing mcycle leaves minstret alone");
	__asm__ volatile("csrr %0, minstret\n"
			 "csrw mcycle, zero\n"
			 "csrr %1, minstret\n"
			 : "=&r"(a), "=r"(b) :: "memory");
	CHECK_EQ(b - a, 2);

	section("a write to minstret replaces the increment of the writing instruction");
	/* Zicsr: "if a CSR access instruction writes such a CSR, the write is
	 * done instead of the increment" (Sail: minstret_increment = false) */
	uint64_t w1, w2, w3;
	__asm__ volatile("csrw minstret, %1\n"
			 "csrr %0, minstret\n"
			 : "=r"(w1) : "r"(1000000UL) : "memory");
	__asm__ volatile("csrw minstret, %1\n"
			 "nop\n"
			 "nop\n"
			 "csrr %0, minstret\n"
			 : "=r"(w2) : "r"(5000000UL) : "memory");
	/* the unprivileged alias reads the same counter */
	__asm__ volatile("csrw minstret, %1\n"
			 "csrr %0, instret\n"
			 : "=r"(w3) : "r"(77UL) : "memory");
	if (!qemu_deviation("a write to minstret is followed by the writing instruction's increment")) {
		CHECK_EQ(w1, 1000000);
		CHECK_EQ(w2, 5000002);
		CHECK_EQ(w3, 77);
	}
}

/* mcountinhibit is optional (priv 1.12 §3.1.13: an implementation without
 * it behaves as if it were zero); where a bit sticks, its counter stops */
static void inhibit(void)
{
	uint64_t a, b;

	section("mcountinhibit.IR stops minstret, mcountinhibit.CY stops mcycle");
	trap_reset();
	probe_csrw_mcountinhibit(5);
	uint64_t bits = probe_csrr_mcountinhibit();
	if (H->nexc) {
		skip("no mcountinhibit CSR");
		trap_reset();
		return;
	}
	if (bits & 4) {
		__asm__ volatile("csrr %0, minstret\n"
				 "nop\nnop\nnop\n"
				 "csrr %1, minstret\n"
				 : "=&r"(a), "=r"(b) :: "memory");
		CHECK_EQ(b - a, 0);
	} else {
		note("mcountinhibit.IR is read-only zero");
	}
	if (bits & 1) {
		__asm__ volatile("csrr %0, mcycle\n"
				 "nop\nnop\nnop\n"
				 "csrr %1, mcycle\n"
				 : "=&r"(a), "=r"(b) :: "memory");
		if (!qemu_deviation("mcycle is not stopped by mcountinhibit.CY"))
			CHECK_EQ(b - a, 0);
	} else {
		note("mcountinhibit.CY is read-only zero");
	}
	probe_csrw_mcountinhibit(0);
	__asm__ volatile("csrr %0, minstret\n"
			 "nop\nnop\nnop\n"
			 "csrr %1, minstret\n"
			 : "=&r"(a), "=r"(b) :: "memory");
	CHECK_EQ(b - a, 4);
	CHECK_NO_EXC();
}

static void clocks(void)
{
	section("time lies between two reads of mtime; cycle does not go back");
	uint64_t t1 = mmio_read64(CLINT_MTIME);
	uint64_t t = csr_read(time);
	uint64_t t2 = mmio_read64(CLINT_MTIME);
	CHECK(t1 <= t);
	CHECK(t <= t2);
	uint64_t c1 = csr_read(cycle);
	for (int i = 0; i < 1000; i++)
		barrier();
	uint64_t c2 = csr_read(cycle);
	CHECK(c1 <= c2);
	CHECK_EQ(csr_read(mcycle) >= c2, 1);
}

int main(void)
{
	H = this_hart();
	gating();
	instret();
	inhibit();
	clocks();
	return 0;
}
