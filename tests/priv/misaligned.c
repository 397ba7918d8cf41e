/* misaligned.c — misaligned loads and stores (priv 1.12 §3.6.3: condo
 * performs them in hardware): every width (integer, FP, compressed) at
 * every offset, in M, S and U, across a physical page boundary and across
 * two virtual pages mapped to unrelated frames; an access crossing into an
 * unmapped or read-only page takes a page fault whose tval is the part
 * that faulted (§3.1.16); a 32-bit instruction crossing into an unmapped
 * page faults with epc = its start, tval = the second page. AMOs, LR and
 * SC must be naturally aligned: AMO/SC fault with the store/AMO
 * address-misaligned cause, LR with the load one (as the Sail model). */
#include "priv.h"
#include "pt.h"

static struct hart *H;

static uint8_t buf[64] __attribute__((aligned(64)));
static uint8_t two[8192] __attribute__((aligned(4096)));
static uint8_t vpage[4][4096] __attribute__((aligned(4096)));

/* the first mismatch a checker found (written in any mode) */
static struct {
	long n;
	uint64_t addr, got, want;
	const char *what;
} bad;

static void mismatch(const char *what, uintptr_t addr, uint64_t got, uint64_t want)
{
	if (!bad.n++) {
		bad.what = what;
		bad.addr = addr;
		bad.got = got;
		bad.want = want;
	}
}

static void report(long n, int line)
{
	check_eq((uint64_t)n, 0, "mismatches", line);
	if (n)
		pr("    first: %s at %#lx: got %#lx, want %#lx\n", bad.what, bad.addr, bad.got, bad.want);
	bad.n = 0;
}

/* little-endian value of size bytes at p */
static uint64_t bytes_le(const uint8_t *p, int size)
{
	uint64_t v = 0;
	for (int i = size - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t sext(uint64_t v, int size)
{
	int sh = 64 - 8 * size;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* every load at addr: expected from the bytes seen at phys (the same
 * memory, through another address when paging is on) */
static void loads_at(uintptr_t addr, const uint8_t *phys)
{
	uint64_t v;
#define L(probe, size, sign) do { \
	v = bytes_le(phys, size); \
	if (sign) v = sext(v, size); \
	uint64_t got_ = probe(addr); \
	if (got_ != v) mismatch(#probe, addr, got_, v); \
} while (0)
	L(probe_lb, 1, 1);
	L(probe_lbu, 1, 0);
	L(probe_lh, 2, 1);
	L(probe_lhu, 2, 0);
	L(probe_lw, 4, 1);
	L(probe_lwu, 4, 0);
	L(probe_ld, 8, 0);
	L(probe_c_lw, 4, 1);
	L(probe_c_ld, 8, 0);
	L(probe_flw, 4, 1);             /* fmv.x.w sign-extends */
	L(probe_fld, 8, 0);
#undef L
}

static const uint64_t store_val = 0x8877665544332211UL;

/* every store at addr: only its bytes change */
static void stores_at(uintptr_t addr, uint8_t *phys, uint8_t *around, size_t len)
{
	static const struct {
		const char *name;
		uint64_t (*fn)(uintptr_t, uint64_t);
		int size;
	} st[] = {
		{ "sb", probe_sb, 1 }, { "sh", probe_sh, 2 }, { "sw", probe_sw, 4 },
		{ "sd", probe_sd, 8 }, { "c.sw", probe_c_sw, 4 }, { "c.sd", probe_c_sd, 8 },
		{ "fsw", probe_fsw, 4 }, { "fsd", probe_fsd, 8 },
	};
	for (unsigned k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		for (size_t i = 0; i < len; i++)
			around[i] = 0xee;
		uint64_t val = store_val + k;
		if (st[k].fn(addr, val) != 0)
			mismatch(st[k].name, addr, 1, 0);
		for (int i = 0; i < st[k].size; i++)
			if (phys[i] != (uint8_t)(val >> (8 * i)))
				mismatch(st[k].name, addr + (uintptr_t)i, phys[i], (uint8_t)(val >> (8 * i)));
		for (size_t i = 0; i < len; i++) {
			uint8_t *p = around + i;
			if (p >= phys && p < phys + st[k].size)
				continue;
			if (*p != 0xee)
				mismatch(st[k].name, (uintptr_t)p, *p, 0xee);
		}
	}
}

static void fill_pattern(uint8_t *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0x81 + 7 * i + 13 * (size_t)seed);
}

/* all offsets 0..7 within buf, bare addressing; runs in M, S or U */
static long all_offsets(long x)
{
	(void)x;
	for (int off = 0; off < 8; off++) {
		fill_pattern(buf, sizeof(buf), off);
		loads_at((uintptr_t)buf + 16 + (uintptr_t)off, buf + 16 + off);
		stores_at((uintptr_t)buf + 16 + (uintptr_t)off, buf + 16 + off, buf, sizeof(buf));
	}
	return bad.n;
}

/* offsets straddling the physical page boundary in `two` */
static long physical_cross(long x)
{
	(void)x;
	for (int k = 1; k < 8; k++) {
		uint8_t *p = two + 4096 - k;
		fill_pattern(two + 4096 - 16, 32, k);
		loads_at((uintptr_t)p, p);
		stores_at((uintptr_t)p, p, two + 4096 - 16, 32);
	}
	return bad.n;
}

/* TVA(1) -> vpage[0] and TVA(0) -> vpage[2]: a misaligned access at the
 * end of TVA(0) continues in an unrelated frame; checked against the
 * frames (identity-mapped for S) */
static long virtual_cross(long x)
{
	(void)x;
	for (int k = 1; k < 8; k++) {
		uint8_t shadow[32];
		fill_pattern(shadow, 32, k);
		for (int i = 0; i < 16; i++) {
			vpage[2][4096 - 16 + i] = shadow[i];
			vpage[0][i] = shadow[16 + i];
		}
		/* loads: compare with the shadow copy of the 32 bytes */
		loads_at(TVA(1) - (uint64_t)k, shadow + 16 - k);
		/* stores: write through the VA, read back through the VA */
		static const int sizes[] = { 2, 4, 8 };
		for (int s = 0; s < 3; s++) {
			uint64_t va = TVA(1) - (uint64_t)k;
			uint64_t val = store_val >> (8 * (8 - sizes[s]));
			if (sizes[s] == 2)
				probe_sh(va, val);
			else if (sizes[s] == 4)
				probe_sw(va, val);
			else
				probe_sd(va, val);
			for (int i = 0; i < sizes[s]; i++) {
				uint64_t a = va + (uint64_t)i;
				uint8_t b = a < TVA(1) ? vpage[2][a - TVA(0)] : vpage[0][a - TVA(1)];
				if (b != (uint8_t)(val >> (8 * i)))
					mismatch("store across pages", a, b, (uint8_t)(val >> (8 * i)));
			}
			if (probe_ld(TVA(1) - 8) != bytes_le(&vpage[2][4088], 8))
				mismatch("store across pages spilled", TVA(1) - 8, 0, 0);
		}
	}
	return bad.n;
}

static long s_ld(long va) { return (long)probe_ld((uintptr_t)va); }
static long s_sw(long va) { return (long)probe_sw((uintptr_t)va, 0x11223344); }
static long s_ex(long va) { return (long)probe_exec((uintptr_t)va); }

static void plain(void)
{
	section("misaligned loads and stores of every width at offsets 0..7 in M");
	trap_reset();
	report(all_offsets(0), __LINE__);
	CHECK_NO_EXC();

	section("... and in S");
	trap_reset();
	report(RUN_S(all_offsets, 0), __LINE__);
	CHECK_NO_EXC();

	section("... and in U");
	trap_reset();
	report(RUN_U(all_offsets, 0), __LINE__);
	CHECK_NO_EXC();

	section("misaligned accesses across a physical page boundary");
	trap_reset();
	report(physical_cross(0), __LINE__);
	report(RUN_S(physical_cross, 0), __LINE__);
	CHECK_NO_EXC();
}

/* an exception whose tval lies in [lo, hi] */
static void check_exc_tval_in(int lvl, uint64_t cause, uint64_t epc, uint64_t lo, uint64_t hi, int line)
{
	check_exc(lvl, cause, epc, ANY_TVAL, 1, line);
	check_true(H->exc.tval >= lo && H->exc.tval <= hi, "tval within the faulting part", line);
	if (H->exc.tval < lo || H->exc.tval > hi)
		pr("    tval %#lx, want %#lx..%#lx\n", H->exc.tval, lo, hi);
}

static void paged(void)
{
	pt_init();
	pt_map(0, (uintptr_t)vpage[2], PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	pt_map(1, (uintptr_t)vpage[0], PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	pt_map(2, (uintptr_t)vpage[1], PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	/* TVA(3) unmapped; TVA(5) read-only after TVA(4) */
	pt_map(4, (uintptr_t)vpage[3], PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	pt_map(5, (uintptr_t)vpage[1], PTE_R | PTE_X | PTE_A);
	csr_write(medeleg, (1UL << CAUSE_FETCH_PAGE) | (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
	pt_enable(3);

	section("misaligned accesses across two virtual pages in unrelated frames (S, Sv39)");
	trap_reset();
	report(RUN_S(virtual_cross, 0), __LINE__);
	CHECK_NO_EXC();

	section("a misaligned load running into an unmapped page faults on the second part");
	trap_reset();
	CHECK_EQ(RUN_S(s_ld, TVA(3) - 4), FAULT_VALUE);
	check_exc_tval_in(PRV_S, CAUSE_LOAD_PAGE, (uintptr_t)probe_ld, TVA(3), TVA(3) + 3, __LINE__);

	section("a misaligned store running into a read-only page faults on the second part");
	trap_reset();
	CHECK_EQ(RUN_S(s_sw, TVA(5) - 2), FAULT_VALUE);
	check_exc_tval_in(PRV_S, CAUSE_STORE_PAGE, (uintptr_t)probe_sw, TVA(5), TVA(5) + 1, __LINE__);

	section("a 32-bit instruction across a page boundary runs, or faults on its second half");
	/* `jalr zero, 0(ra)` split over the last 2 bytes of vpage[2] (TVA(0))
	 * and the first 2 of vpage[0] (TVA(1)) */
	vpage[2][4094] = 0x67;
	vpage[2][4095] = 0x80;
	vpage[0][0] = 0x00;
	vpage[0][1] = 0x00;
	fence();
	__asm__ volatile("fence.i" ::: "memory");
	trap_reset();
	CHECK_EQ(RUN_S(s_ex, TVA(1) - 2), TVA(1) - 2);     /* a0 unchanged */
	CHECK_NO_EXC();
	/* the same instruction with the second page unmapped (TVA(2)/TVA(3)) */
	vpage[1][4094] = 0x67;
	vpage[1][4095] = 0x80;
	fence();
	__asm__ volatile("fence.i" ::: "memory");
	trap_reset();
	CHECK_EQ(RUN_S(s_ex, TVA(3) - 2), FAULT_VALUE);
	CHECK_EXC(PRV_S, CAUSE_FETCH_PAGE, TVA(3) - 2, TVA(3));

	pt_disable();
	csr_write(medeleg, 0);
}

static long s_amo(long which)
{
	uintptr_t a = (uintptr_t)buf;
	switch (which) {
	case 0: return (long)probe_amoadd_w(a + 2, 1);
	case 1: return (long)probe_amoadd_d(a + 4, 1);
	case 2: return (long)probe_amoswap_w(a + 1, 1);
	case 3: return (long)probe_amoor_d(a + 9, 1);
	case 4: return (long)probe_sc_w(a + 2, 1);
	case 5: return (long)probe_sc_d(a + 12, 1);
	case 6: return (long)probe_lr_w(a + 2);
	default: return (long)probe_lr_d(a + 4);
	}
}

static void atomics(void)
{
	static const struct {
		const char *name;
		uint64_t (*probe)();
		unsigned off;
		uint64_t cause;
	} amo[] = {
		{ "amoadd.w", (uint64_t (*)())probe_amoadd_w, 2, CAUSE_STORE_MISALIGNED },
		{ "amoadd.d", (uint64_t (*)())probe_amoadd_d, 4, CAUSE_STORE_MISALIGNED },
		{ "amoswap.w", (uint64_t (*)())probe_amoswap_w, 1, CAUSE_STORE_MISALIGNED },
		{ "amoor.d", (uint64_t (*)())probe_amoor_d, 9, CAUSE_STORE_MISALIGNED },
		{ "sc.w", (uint64_t (*)())probe_sc_w, 2, CAUSE_STORE_MISALIGNED },
		{ "sc.d", (uint64_t (*)())probe_sc_d, 12, CAUSE_STORE_MISALIGNED },
		{ "lr.w", (uint64_t (*)())probe_lr_w, 2, CAUSE_LOAD_MISALIGNED },
		{ "lr.d", (uint64_t (*)())probe_lr_d, 4, CAUSE_LOAD_MISALIGNED },
	};
	for (unsigned k = 0; k < sizeof(amo) / sizeof(amo[0]); k++) {
		for (int mode = PRV_U; mode <= PRV_M; mode++) {
			if (mode == 2)
				continue;
			for (int deleg = 0; deleg < (mode == PRV_M ? 1 : 2); deleg++) {
				sectionf("misaligned %s in %c%s: address-misaligned trap, memory unchanged",
					 amo[k].name, "US?M"[mode], deleg ? ", delegated" : "");
				fill_pattern(buf, sizeof(buf), 3);
				uint8_t before[sizeof(buf)];
				memcpy(before, buf, sizeof(buf));
				csr_write(medeleg, deleg ? 1UL << amo[k].cause : 0);
				trap_reset();
				long r = lower_call(mode, s_amo, (long)k, 0);
				csr_write(medeleg, 0);
				static const char amo_dev[] = "misaligned AMOs raise the load address-misaligned cause";
				static const char sc_dev[] = "a misaligned SC without a reservation fails instead of trapping";
				if ((k < 4 && qemu_deviation(amo_dev)) || ((k == 4 || k == 5) && qemu_deviation(sc_dev)))
					continue;
				CHECK_EQ(r, FAULT_VALUE);
				CHECK_EXC(deleg ? PRV_S : PRV_M, amo[k].cause, amo[k].probe,
					  (uintptr_t)buf + amo[k].off);
				CHECK_EQ(H->exc.from, mode);
				int same = 1;
				for (unsigned i = 0; i < sizeof(buf); i++)
					same &= buf[i] == before[i];
				CHECK(same);
			}
		}
	}

	section("aligned AMO, LR and SC next to those still work");
	trap_reset();
	*(uint64_t *)(buf + 8) = 5;
	CHECK_EQ(probe_amoadd_d((uintptr_t)buf + 8, 3), 5);
	CHECK_EQ(*(uint64_t *)(buf + 8), 8);
	*(uint32_t *)(buf + 4) = 0xfffffffe;
	CHECK_EQ(probe_amoadd_w((uintptr_t)buf + 4, 1), 0xfffffffffffffffeUL);
	CHECK_EQ(*(uint32_t *)(buf + 4), 0xffffffff);
	CHECK_NO_EXC();
}

int main(void)
{
	H = this_hart();
	plain();
	paged();
	atomics();
	return 0;
}
