/* asid.c — address spaces told apart by their ASIDs (priv 1.12 §4.1.11,
 * §4.2.1): a write to satp does not flush, so a hart may keep the
 * translations of several address spaces, and must use only those of the
 * current one.  Six spaces (more than condo keeps apart, so some switches
 * reuse a slot) map the same virtual page, TVA(0), to a page of their own
 * holding a marker and a function returning its number; U-mode code in a
 * page all spaces share reads the marker and calls the function through a
 * pointer (an indirect jump to a pc whose code differs per space), and
 * S-mode reads it with SUM.  The spaces take turns for hundreds of rounds
 * (past the translator's compile threshold) without sfence.vma; then a
 * remapped page in one space, announced by sfence.vma for that ASID
 * alone, is seen there. */
#include "priv.h"
#include "pt.h"

#define NSPACES	 6
#define ROUNDS	 300
#define CODE_OFF 0x800

static uint64_t roots[NSPACES][512] __attribute__((aligned(4096)));
static uint64_t l1s[NSPACES][512] __attribute__((aligned(4096)));
static uint64_t l0s[NSPACES][512] __attribute__((aligned(4096)));
static uint8_t pages[NSPACES + 1][4096] __attribute__((aligned(4096)));

static uint64_t satp_of(int k)
{
	return SATP_MODE_SV39 | (uint64_t)(k + 1) << 44 | (uintptr_t)roots[k] >> 12;
}

/* page i: marker 100 + i at 0, `li a0, i; ret` at CODE_OFF */
static void fill_page(int i)
{
	uint16_t code[2] = {(uint16_t)(0x4501 | (i & 31) << 2), 0x8082};

	for (int j = 0; j < 4096; j++)
		pages[i][j] = 0;
	*(uint64_t *)pages[i] = 100 + (uint64_t)i;
	memcpy(pages[i] + CODE_OFF, code, sizeof(code));
}

static void setup(void)
{
	for (int i = 0; i <= NSPACES; i++)
		fill_page(i);
	for (int k = 0; k < NSPACES; k++) {
		for (int i = 0; i < 512; i++)
			roots[k][i] = l1s[k][i] = l0s[k][i] = 0;
		/* S code and data, the same in every space: global */
		roots[k][2] = PTE_LEAF(0x80000000UL, RWXAD | PTE_G);
		/* the U alias of the image: the same in every space, not global */
		roots[k][3] = PTE_LEAF(0x80000000UL, RWXAD | PTE_U);
		roots[k][1] = PTE_TABLE(l1s[k]);
		l1s[k][0] = PTE_TABLE(l0s[k]);
		l0s[k][0] = PTE_LEAF((uintptr_t)pages[k], RWXAD | PTE_U);
	}
	fence();
	__asm__ volatile("fence.i" ::: "memory");
	csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
	csr_write(satp, satp_of(0));
	sfence_vma();
}

/* U-mode: the marker, and the number the page's function returns */
static long u_probe(long va)
{
	long (*fn)(void) = (long (*)(void))(va + CODE_OFF);

	return (long)*(volatile uint64_t *)va * 1000 + fn();
}

static long s_read(long va)
{
	return (long)*(volatile uint64_t *)va;
}

/* Switch to space k (no sfence) and check what U and S see at TVA(0),
 * which space k maps to page p; returns the number of wrong values. */
static int visit(int k, int p)
{
	int bad = 0;

	csr_write(satp, satp_of(k));
	trap_reset();
	bad += lower_call(PRV_U, u_probe, (long)TVA(0), U_ALIAS_OFF) != (100 + p) * 1000 + p;
	bad += this_hart()->nexc != 0;
	csr_set(mstatus, MSTATUS_SUM);
	trap_reset();
	bad += RUN_S(s_read, TVA(0)) != 100 + p;
	bad += this_hart()->nexc != 0;
	csr_clear(mstatus, MSTATUS_SUM);
	return bad;
}

int main(void)
{
	int bad = 0;

	setup();
	sectionf("two address spaces in turn, no sfence.vma between");
	for (int r = 0; r < ROUNDS; r++)
		bad += visit(r & 1, r & 1);
	CHECK_EQ(bad, 0);

	sectionf("six address spaces in turn (slots reused), no sfence.vma between");
	bad = 0;
	for (int r = 0; r < ROUNDS; r++)
		bad += visit(r % NSPACES, r % NSPACES);
	for (int r = 0; r < ROUNDS; r++) {
		int k = (r * 7 + r / 3) % NSPACES;

		bad += visit(k, k);
	}
	CHECK_EQ(bad, 0);

	sectionf("sfence.vma for one ASID makes a remapped page visible in its space");
	csr_write(satp, satp_of(1));
	l0s[0][0] = PTE_LEAF((uintptr_t)pages[NSPACES], RWXAD | PTE_U);
	fence();
	__asm__ volatile("sfence.vma zero, %0"
			 :
			 : "r"((uint64_t)1)
			 : "memory"); /* space 0's ASID */
	bad = 0;
	for (int r = 0; r < 40; r++) {
		bad += visit(0, NSPACES);
		bad += visit(1 + r % (NSPACES - 1), 1 + r % (NSPACES - 1));
	}
	CHECK_EQ(bad, 0);

	csr_write(satp, 0);
	sfence_vma();
	return 0;
}
