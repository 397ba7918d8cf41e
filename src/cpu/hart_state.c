/* A system-mode hart's architectural state as plain data, for snapshots
 * and live migration (include/condo/state.h): saved field by field, and
 * loaded with every value checked, since a snapshot is untrusted input.
 *
 * CSRs are loaded through the CSR write path (src/cpu/csr.c), so their WARL
 * rules are the ones a guest's csrw meets; a value the write path would
 * change (a bit the hart does not implement, a satp mode it does not
 * support, a reserved MPP) is not one this hart could have saved, and the
 * load is refused. */
#include "condo/state.h"
#include "cpu/csr.h"
#include "cpu/priv.h"

#include <stddef.h>
#include <string.h>

#define STATE_TAG "HART"

/* The CSRs kept in struct csr_state that load through csr_write, in the
 * order they are saved.  pmpaddr comes before pmpcfg: a locked entry
 * would ignore the write of its address (priv 3.7.1). */
/* clang-format off */
static const struct {
	uint16_t csr;
	uint16_t off; /* offsetof(struct csr_state, ...) */
	const char *why;
} csr_fields[] = {
#define F(c, field) { c, offsetof(struct csr_state, field), "hart: " #field " out of range" }
	F(CSR_MSTATUS, mstatus),     F(CSR_MEDELEG, medeleg),     F(CSR_MIDELEG, mideleg),
	F(CSR_MIE, mie),             F(CSR_MTVEC, mtvec),         F(CSR_MCOUNTEREN, mcounteren),
	F(CSR_MENVCFG, menvcfg),     F(CSR_MSCRATCH, mscratch),   F(CSR_MEPC, mepc),
	F(CSR_MCAUSE, mcause),       F(CSR_MTVAL, mtval),         F(CSR_STVEC, stvec),
	F(CSR_SCOUNTEREN, scounteren), F(CSR_SENVCFG, senvcfg),   F(CSR_SSCRATCH, sscratch),
	F(CSR_SEPC, sepc),           F(CSR_SCAUSE, scause),       F(CSR_STVAL, stval),
	F(CSR_SATP, satp),           F(CSR_STIMECMP, stimecmp),
	F(CSR_PMPADDR0 + 0, pmpaddr[0]),   F(CSR_PMPADDR0 + 1, pmpaddr[1]),
	F(CSR_PMPADDR0 + 2, pmpaddr[2]),   F(CSR_PMPADDR0 + 3, pmpaddr[3]),
	F(CSR_PMPADDR0 + 4, pmpaddr[4]),   F(CSR_PMPADDR0 + 5, pmpaddr[5]),
	F(CSR_PMPADDR0 + 6, pmpaddr[6]),   F(CSR_PMPADDR0 + 7, pmpaddr[7]),
	F(CSR_PMPADDR0 + 8, pmpaddr[8]),   F(CSR_PMPADDR0 + 9, pmpaddr[9]),
	F(CSR_PMPADDR0 + 10, pmpaddr[10]), F(CSR_PMPADDR0 + 11, pmpaddr[11]),
	F(CSR_PMPADDR0 + 12, pmpaddr[12]), F(CSR_PMPADDR0 + 13, pmpaddr[13]),
	F(CSR_PMPADDR0 + 14, pmpaddr[14]), F(CSR_PMPADDR0 + 15, pmpaddr[15]),
	F(CSR_PMPCFG0, pmpcfg[0]),   F(CSR_PMPCFG2, pmpcfg[1]),
#undef F
};
/* clang-format on */

/* The interrupt-pending bits a hart has (priv 3.1.9). */
#define MIP_ALL (MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP)

static uint64_t csr_field(const struct csr_state *c, unsigned i)
{
	uint64_t v;

	memcpy(&v, (const char *)c + csr_fields[i].off, sizeof(v));
	return v;
}

void hart_save(const struct hart *h, struct state_buf *out)
{
	const struct csr_state *c = &h->csr;

	state_put_tag(out, STATE_TAG);
	for (int i = 0; i < 32; i++)
		state_put_u64(out, h->x[i]);
	for (int i = 0; i < 32; i++)
		state_put_u64(out, h->f[i]);
	state_put_u64(out, h->pc);
	state_put_u8(out, (uint8_t)h->fflags);
	state_put_u8(out, (uint8_t)h->frm);
	state_put_u64(out, h->instret);
	state_put_u64(out, h->resv_addr);
	state_put_u64(out, h->resv_value);
	state_put_bool(out, h->resv_valid);
	state_put_u8(out, h->priv);
	state_put_u64(out, c->misa);
	state_put_u64(out, c->cycle_offset);
	for (unsigned i = 0; i < ARRAY_SIZE(csr_fields); i++)
		state_put_u64(out, csr_field(c, i));
	state_put_u64(out, c->seip_sw);
	state_put_u64(out, h->mtimecmp);
	state_put_u64(out, h->sbi_timecmp);
	state_put_bool(out, h->sbi_timer_armed);
	state_put_u64(out, __atomic_load_n(&h->mip, __ATOMIC_SEQ_CST));
	/* M-mode is the host's (paravirtual SBI): S-mode ecalls exit to it. */
	state_put_bool(out, h->sbi_in_host);
}

/* Read a u64 and fail the buffer unless ok(value). */
static uint64_t get_checked(struct state_buf *in, bool (*ok)(uint64_t), const char *why)
{
	uint64_t v = state_get_u64(in);

	if (!in->failed && !ok(v))
		state_fail(in, why);
	return v;
}

static bool priv_ok(uint64_t v)
{
	return v == PRV_U || v == PRV_S || v == PRV_M;
}

static bool x0_ok(uint64_t v)
{
	return v == 0;
}

static bool pc_ok(uint64_t v)
{
	return !(v & 1); /* IALIGN 16 with C (unpriv 1.5) */
}

static bool seip_ok(uint64_t v)
{
	return (v & ~MIP_SEIP) == 0;
}

static bool mip_ok(uint64_t v)
{
	return (v & ~MIP_ALL) == 0;
}

/* The CSRs of csr_fields, each written as a guest's csrw would in M-mode
 * and required to read back unchanged. */
static void load_csrs(struct hart *h, struct state_buf *in)
{
	/* The hart is fresh from cpu_reset_system: no PMP entry is locked. */
	h->csr.pmpcfg[0] = h->csr.pmpcfg[1] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(csr_fields) && !in->failed; i++) {
		uint64_t v = state_get_u64(in);

		if (in->failed)
			break;
		if (csr_write(h, csr_fields[i].csr, v) < 0 || csr_field(&h->csr, i) != v)
			state_fail(in, csr_fields[i].why);
	}
}

int hart_load(struct hart *h, struct state_buf *in)
{
	uint64_t v, mip;
	uint8_t priv;

	if (!h->system)
		return state_fail(in, "hart: not a system-mode hart");
	state_expect(in, STATE_TAG);
	get_checked(in, x0_ok, "hart: x0 is not zero");
	for (int i = 1; i < 32; i++)
		h->x[i] = state_get_u64(in);
	for (int i = 0; i < 32; i++)
		h->f[i] = state_get_u64(in);
	h->pc = get_checked(in, pc_ok, "hart: pc misaligned");
	h->fflags = state_get_u8(in);
	if (h->fflags > 31)
		state_fail(in, "hart: fflags out of range");
	h->frm = state_get_u8(in);
	if (h->frm > 7)
		state_fail(in, "hart: frm out of range");
	h->instret = state_get_u64(in);
	h->resv_addr = state_get_u64(in);
	h->resv_value = state_get_u64(in);
	h->resv_valid = state_get_bool(in);
	priv = state_get_u8(in);
	if (!in->failed && !priv_ok(priv))
		state_fail(in, "hart: priv out of range");
	v = state_get_u64(in);
	if (!in->failed && v != h->csr.misa)
		state_fail(in, "hart: misa differs from this hart's (another ISA configuration)");
	h->csr.cycle_offset = state_get_u64(in);
	/* CSR accesses are checked against the current privilege: load in M. */
	h->priv = PRV_M;
	if (!in->failed)
		load_csrs(h, in);
	h->csr.seip_sw = get_checked(in, seip_ok, "hart: seip_sw out of range");
	h->mtimecmp = state_get_u64(in);
	h->sbi_timecmp = state_get_u64(in);
	h->sbi_timer_armed = state_get_bool(in);
	mip = get_checked(in, mip_ok, "hart: mip out of range");
	h->sbi_in_host = state_get_bool(in);
	if (in->failed)
		return -1;
	h->priv = priv;
	__atomic_store_n(&h->mip, mip, __ATOMIC_SEQ_CST);
	/* Nothing cached was made from this state; the TLB set follows the
	 * privilege and SUM; pending interrupts are looked at before the
	 * first instruction. */
	cpu_tlb_flush(h);
	cpu_code_flush(h);
	trap_update_context(h);
	__atomic_store_n(&h->irq_check, 1, __ATOMIC_SEQ_CST);
	return 0;
}
