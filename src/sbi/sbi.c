/* The paravirtual SBI: with no M-mode firmware, condo itself answers the
 * kernel's ecalls (hypercalls).  SBI spec 2.0: BASE, TIME, IPI, RFENCE, HSM,
 * SRST and DBCN, plus the legacy (v0.1) calls.  Anything else returns
 * SBI_ERR_NOT_SUPPORTED. */
#include "condo/log.h"
#include "cpu/priv.h"
#include "machine/vm.h"

#include <string.h>

enum {
	SBI_SUCCESS = 0,
	SBI_ERR_FAILED = -1,
	SBI_ERR_NOT_SUPPORTED = -2,
	SBI_ERR_INVALID_PARAM = -3,
	SBI_ERR_INVALID_ADDRESS = -5,
	SBI_ERR_ALREADY_AVAILABLE = -6,
};

enum {
	EXT_LEGACY_SET_TIMER = 0x00,
	EXT_LEGACY_PUTCHAR = 0x01,
	EXT_LEGACY_GETCHAR = 0x02,
	EXT_LEGACY_CLEAR_IPI = 0x03,
	EXT_LEGACY_SEND_IPI = 0x04,
	EXT_LEGACY_FENCE_I = 0x05,
	EXT_LEGACY_SFENCE_VMA = 0x06,
	EXT_LEGACY_SFENCE_VMA_ASID = 0x07,
	EXT_LEGACY_SHUTDOWN = 0x08,
	EXT_BASE = 0x10,
	EXT_TIME = 0x54494d45,
	EXT_IPI = 0x735049,
	EXT_RFENCE = 0x52464e43,
	EXT_HSM = 0x48534d,
	EXT_SRST = 0x53525354,
	EXT_DBCN = 0x4442434e,
};

#define SBI_SPEC_VERSION 0x02000000 /* 2.0 */
#define SBI_IMPL_ID      0xc0d0     /* not a registered id: condo */
#define SBI_IMPL_VERSION 1

struct sbiret {
	int64_t error;
	uint64_t value;
};

static const uint64_t extensions[] = {
	EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN,
	EXT_LEGACY_SET_TIMER, EXT_LEGACY_PUTCHAR, EXT_LEGACY_GETCHAR, EXT_LEGACY_CLEAR_IPI,
	EXT_LEGACY_SEND_IPI, EXT_LEGACY_FENCE_I, EXT_LEGACY_SFENCE_VMA,
	EXT_LEGACY_SFENCE_VMA_ASID, EXT_LEGACY_SHUTDOWN,
};

static struct sbiret base_call(uint64_t fid, uint64_t arg0)
{
	switch (fid) {
	case 0: return (struct sbiret){ 0, SBI_SPEC_VERSION };
	case 1: return (struct sbiret){ 0, SBI_IMPL_ID };
	case 2: return (struct sbiret){ 0, SBI_IMPL_VERSION };
	case 3:
		for (size_t i = 0; i < ARRAY_SIZE(extensions); i++)
			if (extensions[i] == arg0)
				return (struct sbiret){ 0, 1 };
		return (struct sbiret){ 0, 0 };
	case 4: case 5: case 6: /* mvendorid, marchid, mimpid */
		return (struct sbiret){ 0, 0 };
	}
	return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
}

static void set_timer(struct hart *h, uint64_t when)
{
	h->sbi_timecmp = when;
	h->sbi_timer_armed = true;
	cpu_timer_poll(h); /* clears STIP if the deadline is in the future */
}

/* The harts named by (mask, base); base == -1 means all harts. */
static bool hart_selected(struct vm *vm, int i, uint64_t mask, uint64_t base)
{
	if (base == UINT64_MAX)
		return true;
	return (uint64_t)i >= base && (uint64_t)i - base < 64 && ((mask >> (i - base)) & 1);
}

static int64_t check_hart_mask(struct vm *vm, uint64_t mask, uint64_t base)
{
	if (base == UINT64_MAX)
		return SBI_SUCCESS;
	if (base >= (uint64_t)vm->ncpus || (vm->ncpus - base < 64 && (mask >> (vm->ncpus - base))))
		return SBI_ERR_INVALID_PARAM;
	return SBI_SUCCESS;
}

static struct sbiret send_ipi(struct vm *vm, uint64_t mask, uint64_t base)
{
	int64_t err = check_hart_mask(vm, mask, base);

	if (err)
		return (struct sbiret){ err, 0 };
	for (int i = 0; i < vm->ncpus; i++)
		if (hart_selected(vm, i, mask, base))
			cpu_set_irq(vm->harts[i].hart, MIP_SSIP, true);
	return (struct sbiret){ 0, 0 };
}

/* Remote fences: ask each target to flush, and wait until all have (the
 * SBI call completes only once the fence is done everywhere). */
static struct sbiret remote_fence(struct vm *vm, struct hart *self, uint64_t mask, uint64_t base,
				  uint32_t what)
{
	int64_t err = check_hart_mask(vm, mask, base);

	if (err)
		return (struct sbiret){ err, 0 };
	for (int i = 0; i < vm->ncpus; i++) {
		struct hart *t = vm->harts[i].hart;
		if (!hart_selected(vm, i, mask, base))
			continue;
		if (t == self) {
			cpu_flush_requests(self, what);
			continue;
		}
		__atomic_or_fetch(&t->flush_req, what, __ATOMIC_SEQ_CST);
		cpu_kick(t);
	}
	for (int i = 0; i < vm->ncpus; i++) {
		struct vm_hart *vh = &vm->harts[i];
		/* A stopped hart flushes when it starts: its TLB is emptied
		 * then; a parked one (a pause) before it runs guest code. */
		while (__atomic_load_n(&vh->hart->flush_req, __ATOMIC_SEQ_CST) &&
		       vh->state == HART_STARTED && !vh->parked && !vm->done) {
			cpu_flush_requests(self, __atomic_exchange_n(&self->flush_req, 0,
								     __ATOMIC_SEQ_CST));
			sched_yield();
		}
	}
	return (struct sbiret){ 0, 0 };
}

static struct sbiret hsm_call(struct vm *vm, struct vm_hart *self, uint64_t fid, uint64_t a0,
			      uint64_t a1, uint64_t a2)
{
	struct vm_hart *target;

	switch (fid) {
	case 0: /* hart_start(hartid, start_addr, opaque) */
		if (a0 >= (uint64_t)vm->ncpus)
			return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
		if (!gmem_ptr(&vm->ram, a1, 4))
			return (struct sbiret){ SBI_ERR_INVALID_ADDRESS, 0 };
		target = &vm->harts[a0];
		pthread_mutex_lock(&vm->lock);
		if (target->state != HART_STOPPED) {
			pthread_mutex_unlock(&vm->lock);
			return (struct sbiret){ SBI_ERR_ALREADY_AVAILABLE, 0 };
		}
		target->start_addr = a1;
		target->start_arg = a2;
		target->state = HART_START_PENDING;
		pthread_cond_broadcast(&vm->done_cond);
		pthread_mutex_unlock(&vm->lock);
		return (struct sbiret){ 0, 0 };
	case 1: /* hart_stop() */
		pthread_mutex_lock(&vm->lock);
		self->state = HART_STOPPED;
		pthread_mutex_unlock(&vm->lock);
		self->hart->stop_request = 1;
		return (struct sbiret){ 0, 0 };
	case 2: /* hart_get_status(hartid): 0 started, 1 stopped, 2 start pending */
		if (a0 >= (uint64_t)vm->ncpus)
			return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
		switch (vm->harts[a0].state) {
		case HART_STARTED: return (struct sbiret){ 0, 0 };
		case HART_STOPPED: return (struct sbiret){ 0, 1 };
		default: return (struct sbiret){ 0, 2 };
		}
	case 3: /* hart_suspend(type, resume_addr, opaque) */
		if (a0 == 0) { /* default retentive suspend: like wfi */
			cpu_idle_wait(self->hart);
			return (struct sbiret){ 0, 0 };
		}
		return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
	}
	return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
}

static struct sbiret dbcn_call(struct vm *vm, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2)
{
	switch (fid) {
	case 0: { /* console_write(num_bytes, base_lo, base_hi) */
		const void *p = a2 ? NULL : gmem_ptr(&vm->ram, a1, a0);
		if (!p)
			return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
		console_write(p, a0);
		return (struct sbiret){ 0, a0 };
	}
	case 1: { /* console_read(num_bytes, base_lo, base_hi) */
		uint8_t *p = a2 ? NULL : gmem_ptr(&vm->ram, a1, a0);
		uint64_t n = 0;
		int c;
		if (!p)
			return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
		while (n < a0 && (c = console_getchar(vm)) >= 0)
			p[n++] = (uint8_t)c;
		gmem_written(&vm->ram, p, n);
		return (struct sbiret){ 0, n };
	}
	case 2: { /* console_write_byte(byte) */
		uint8_t b = (uint8_t)a0;
		console_write(&b, 1);
		return (struct sbiret){ 0, 0 };
	}
	}
	return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
}

static struct sbiret srst_call(struct vm *vm, uint64_t fid, uint64_t type, uint64_t reason)
{
	if (fid != 0 || type > 2)
		return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
	/* shutdown with reason "system failure" (1) ends with a failure status */
	vm_shutdown(vm, type == 0 && reason == 1 ? 1 : 0, type != 0);
	return (struct sbiret){ 0, 0 };
}

/* Legacy calls take hart masks by virtual address: read it through the MMU. */
static uint64_t legacy_mask(struct vm *vm, struct hart *h, uint64_t va)
{
	uint64_t mask = 0;
	gpa_t pa;
	const void *p;

	if (!va)
		return UINT64_MAX;
	if (mmu_translate(h, va, ACC_READ, &pa) < 0 || !(p = gmem_ptr(&vm->ram, pa, 8)))
		return 0;
	memcpy(&mask, p, 8);
	return mask;
}

void sbi_ecall(struct vm *vm, struct vm_hart *vh)
{
	struct hart *h = vh->hart;
	uint64_t *a = &h->x[10]; /* a0..a7 = x10..x17 */
	uint64_t ext = a[7], fid = a[6];
	struct sbiret ret = { SBI_ERR_NOT_SUPPORTED, 0 };
	bool legacy = ext <= EXT_LEGACY_SHUTDOWN;
	uint64_t mask;

	switch (ext) {
	case EXT_BASE: ret = base_call(fid, a[0]); break;
	case EXT_TIME:
		if (fid == 0) {
			set_timer(h, a[0]);
			ret = (struct sbiret){ 0, 0 };
		}
		break;
	case EXT_IPI:
		if (fid == 0)
			ret = send_ipi(vm, a[0], a[1]);
		break;
	case EXT_RFENCE:
		if (fid == 0)
			ret = remote_fence(vm, h, a[0], a[1], CPU_FLUSH_FENCE_I);
		else if (fid == 1 || fid == 2)
			ret = remote_fence(vm, h, a[0], a[1], CPU_FLUSH_TLB);
		break;
	case EXT_HSM: ret = hsm_call(vm, vh, fid, a[0], a[1], a[2]); break;
	case EXT_SRST: ret = srst_call(vm, fid, a[0], a[1]); break;
	case EXT_DBCN: ret = dbcn_call(vm, fid, a[0], a[1], a[2]); break;
	case EXT_LEGACY_SET_TIMER: set_timer(h, a[0]); ret.error = 0; break;
	case EXT_LEGACY_PUTCHAR: {
		uint8_t b = (uint8_t)a[0];
		console_write(&b, 1);
		ret.error = 0;
		break;
	}
	case EXT_LEGACY_GETCHAR: ret.error = console_getchar(vm); break;
	case EXT_LEGACY_CLEAR_IPI: cpu_set_irq(h, MIP_SSIP, false); ret.error = 0; break;
	case EXT_LEGACY_SEND_IPI:
		mask = legacy_mask(vm, h, a[0]);
		ret = send_ipi(vm, mask, mask == UINT64_MAX ? UINT64_MAX : 0);
		break;
	case EXT_LEGACY_FENCE_I:
	case EXT_LEGACY_SFENCE_VMA:
	case EXT_LEGACY_SFENCE_VMA_ASID:
		mask = legacy_mask(vm, h, a[0]);
		ret = remote_fence(vm, h, mask, mask == UINT64_MAX ? UINT64_MAX : 0,
				   ext == EXT_LEGACY_FENCE_I ? CPU_FLUSH_FENCE_I : CPU_FLUSH_TLB);
		break;
	case EXT_LEGACY_SHUTDOWN: vm_shutdown(vm, 0, false); ret.error = 0; break;
	default:
		log_debug("sbi", "unsupported SBI call ext %#llx fid %llu", (unsigned long long)ext,
			  (unsigned long long)fid);
	}
	a[0] = (uint64_t)ret.error;
	if (!legacy)
		a[1] = ret.value;
	h->pc += 4;
}
