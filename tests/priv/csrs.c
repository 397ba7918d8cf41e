/* csrs.c — CSR values an operating system or firmware reads to learn what
 * the hart is: mstatus.SXL and UXL (priv 1.12 §3.1.6.2: with S and U
 * modes on RV64 they give their XLEN, 2 = 64 bits; on a hart whose XLEN
 * cannot change they are read-only), sstatus.UXL (§4.1.1, the same field)
 * and Sdtrig's trigger CSRs tselect, tdata1-3 and tinfo (debug spec 1.0
 * ch. 5): M-mode reaches them without a trap, S-mode does not (CSR number
 * 0x7aX is M-only, priv §2.1). On condo's board the trigger module holds
 * no trigger: tselect reads 0 whatever is written, tdata1 is type 0 ("no
 * trigger at this tselect") with every other bit 0, tdata2/3 read 0 and
 * tinfo is 1 ("this trigger doesn't exist"), so the spec's enumeration
 * (§5.5) finds no trigger. */
#include "priv.h"

#define XL_64 2

static struct hart *H;

static uint64_t uxl(uint64_t status) { return (status >> MSTATUS_UXL_SHIFT) & 3; }
static uint64_t sxl(uint64_t status) { return (status >> MSTATUS_SXL_SHIFT) & 3; }

static long s_read_sstatus(long x) { (void)x; return (long)csr_read(sstatus); }

static long s_clear_uxl(long x)
{
	(void)x;
	csr_clear(sstatus, 3UL << MSTATUS_UXL_SHIFT);
	return (long)csr_read(sstatus);
}

static long s_tselect(long x) { (void)x; return (long)probe_csrr_tselect(); }
static long s_tinfo(long x) { (void)x; return (long)probe_csrr_tinfo(); }
static long s_write_tdata1(long x) { return (long)probe_csrw_tdata1((uint64_t)x); }

/* The debug spec's enumeration (§5.5): the number of triggers found. */
static int count_triggers(void)
{
	int n = 0;
	for (; n < 64; n++) {
		if (probe_csrw_tselect((uint64_t)n) == FAULT_VALUE ||
		    probe_csrr_tselect() != (uint64_t)n)
			break;
		uint64_t info = probe_csrr_tinfo();
		if (info == FAULT_VALUE) {
			if (probe_csrr_tdata1() >> 60 == 0)
				break;
		} else if ((info & 0xffff) == 1) {
			break;
		}
	}
	probe_csrw_tselect(0);
	return n;
}

int main(void)
{
	H = this_hart();

	section("mstatus.SXL and UXL read 2 (64-bit S and U modes), also after writes");
	uint64_t ms = csr_read(mstatus);
	CHECK_EQ(sxl(ms), XL_64);
	CHECK_EQ(uxl(ms), XL_64);
	CHECK_EQ(csr_read(misa) >> 62, XL_64);
	int uxl_fixed = !qemu_deviation("mstatus.UXL is writable, even to the reserved value 3");
	for (uint64_t v = 0; v < 4; v++) {
		uint64_t keep = csr_read(mstatus) & ~(0xfUL << MSTATUS_UXL_SHIFT);
		csr_write(mstatus, keep | v << MSTATUS_UXL_SHIFT | v << MSTATUS_SXL_SHIFT);
		ms = csr_read(mstatus);
		CHECK_EQ(sxl(ms), XL_64);
		if (uxl_fixed)
			CHECK_EQ(uxl(ms), XL_64);
	}
	csr_clear(mstatus, 0xfUL << MSTATUS_UXL_SHIFT);
	if (uxl_fixed)
		CHECK_EQ(uxl(csr_read(mstatus)), XL_64);
	csr_set(mstatus, 0xfUL << MSTATUS_UXL_SHIFT);
	CHECK_EQ(sxl(csr_read(mstatus)), XL_64);
	/* where UXL is writable, put back 64-bit U-mode for what follows */
	csr_write(mstatus, (csr_read(mstatus) & ~(3UL << MSTATUS_UXL_SHIFT)) |
			   (uint64_t)XL_64 << MSTATUS_UXL_SHIFT);

	section("sstatus.UXL reads 2 in M and S, sstatus shows no SXL");
	trap_reset();
	CHECK_EQ(uxl(csr_read(sstatus)), XL_64);
	CHECK_EQ(sxl(csr_read(sstatus)), 0);
	uint64_t ss = (uint64_t)RUN_S(s_read_sstatus, 0);
	CHECK_EQ(uxl(ss), XL_64);
	CHECK_EQ(sxl(ss), 0);
	if (uxl_fixed) {
		ss = (uint64_t)RUN_S(s_clear_uxl, 0);
		CHECK_EQ(uxl(ss), XL_64);
	}
	CHECK_NO_EXC();

	section("Sdtrig CSRs: reads and writes from M-mode never trap");
	trap_reset();
	probe_csrr_tselect();
	probe_csrr_tdata1();
	probe_csrr_tdata2();
	probe_csrr_tdata3();
	probe_csrw_tselect(0);
	probe_csrw_tdata1(0); /* writing 0 disables the trigger (debug spec, tdata1) */
	probe_csrw_tdata2(0);
	probe_csrw_tdata3(0);
	CHECK_NO_EXC();

	section("Sdtrig CSRs are M-only: S-mode access is an illegal instruction");
	trap_reset();
	CHECK_EQ(RUN_S(s_tselect, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, (uintptr_t)probe_csrr_tselect, 0x7a002573);
	trap_reset();
	CHECK_EQ(RUN_S(s_write_tdata1, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, (uintptr_t)probe_csrw_tdata1, 0x7a151073);

	if (!board_is_condo()) {
		note("the board is not condo's: the no-trigger checks are skipped (%d triggers found)\n",
		     count_triggers());
		return 0;
	}

	section("Sdtrig on condo: tinfo, tselect and tdata1-3 say there is no trigger");
	trap_reset();
	CHECK_EQ(probe_csrr_tinfo(), 1);
	probe_csrw_tinfo(0xffff);
	CHECK_EQ(probe_csrr_tinfo(), 1);
	uint64_t sel[] = { 0, 1, 5, 0xffff, ~0UL };
	for (unsigned i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		probe_csrw_tselect(sel[i]);
		CHECK_EQ(probe_csrr_tselect(), 0); /* WARL: an unsupported index reads as a valid one */
		CHECK_EQ(probe_csrr_tdata1(), 0);
		CHECK_EQ(probe_csrr_tinfo(), 1);
	}
	/* mcontrol6 at all privileges, action breakpoint, execute, address 0x80000000 */
	probe_csrw_tdata1(6UL << 60 | 1UL << 6 | 1UL << 4 | 1UL << 3 | 1UL << 2);
	CHECK_EQ(probe_csrr_tdata1(), 0);
	probe_csrw_tdata1(2UL << 60 | 0x5f);
	CHECK_EQ(probe_csrr_tdata1(), 0);
	probe_csrw_tdata2(0x80000000UL);
	CHECK_EQ(probe_csrr_tdata2(), 0);
	probe_csrw_tdata3(~0UL);
	CHECK_EQ(probe_csrr_tdata3(), 0);
	CHECK_EQ(count_triggers(), 0);
	CHECK_NO_EXC();
	CHECK_EQ(RUN_S(s_tinfo, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, (uintptr_t)probe_csrr_tinfo, 0x7a402573);

	return 0;
}
