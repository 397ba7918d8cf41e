/* libFuzzer harness: the paravirtual SBI (src/sbi/sbi.c), every extension
 * condo serves and any other, called from the harts of a four-hart board
 * with arguments from the input: hart masks, guest addresses in and out
 * of RAM, legacy hart masks read through the guest's page tables.
 *
 * The harts do not run: the harness plays them.  A call is made only from
 * a started hart (a hart_start'ed one starts when it is picked, as its
 * thread would); while a remote fence waits for the other started harts,
 * a helper thread does their part, taking their flush requests as their
 * run loops would.  A hart that asks to suspend finds its stop request
 * set, so it returns at once instead of sleeping.
 *
 * Input: operations until the input ends, each one byte (modulo the count)
 * and its operands, little-endian:
 *   CALL  hart u8, extension u8 (one of condo's, or any: u64), function u8,
 *         then a0..a5, each a kind u8 and a value: any u64, RAM + u16,
 *         a small u8, or -1
 *   RAM   addr u16 (from the start of RAM), n u8, n bytes
 *   MMU   hart u8, satp mode u8, root page u8 (in RAM), privilege u8,
 *         mstatus u64 (legacy calls read hart masks through the MMU) */
#include "board.h"

#include "cpu/priv.h"

#include <pthread.h>
#include <sched.h>

#define NCPUS 4

enum op { OP_CALL, OP_RAM, OP_MMU, OP_COUNT };

static const uint64_t extensions[] = {
	0x10,       0x54494d45, 0x735049, 0x52464e43, 0x48534d, 0x53525354, 0x4442434e,
	0,          1,          2,        3,          4,        5,          6,
	7,          8,
};

static bool is_fence(uint64_t ext)
{
	return ext == 0x52464e43 || (ext >= 5 && ext <= 7);
}

struct fence_helper {
	struct vm *vm;
	struct vm_hart *caller;
	volatile bool stop;
};

/* The other started harts at their block boundaries: take flush requests. */
static void *fence_helper_main(void *arg)
{
	struct fence_helper *f = arg;

	while (!f->stop) {
		for (int i = 0; i < f->vm->ncpus; i++) {
			struct vm_hart *vh = &f->vm->harts[i];
			uint32_t what;

			if (vh == f->caller || vh->state != HART_STARTED)
				continue;
			what = __atomic_exchange_n(&vh->hart->flush_req, 0, __ATOMIC_SEQ_CST);
			if (what)
				cpu_flush_requests(vh->hart, what);
		}
		sched_yield();
	}
	return NULL;
}

static uint64_t arg_value(struct vm *vm, struct fuzz_in *in)
{
	switch (fin_u8(in) % 4) {
	case 0: return fin_u64(in);
	case 1: return vm->ram.base + fin_u16(in);
	case 2: return fin_u8(in);
	default: return UINT64_MAX;
	}
}

static void op_call(struct vm *vm, struct fuzz_in *in)
{
	struct vm_hart *vh = &vm->harts[fin_u8(in) % vm->ncpus];
	uint8_t pick = fin_u8(in);
	uint64_t ext = pick < 240 ? extensions[pick % ARRAY_SIZE(extensions)] : fin_u64(in);
	struct hart *h = vh->hart;
	struct fence_helper helper = { .vm = vm, .caller = vh };
	pthread_t thread;
	bool helped;

	h->x[17] = ext;
	h->x[16] = fin_u8(in);
	for (int i = 0; i < 6; i++)
		h->x[10 + i] = arg_value(vm, in);
	if (vh->state == HART_START_PENDING)
		vh->state = HART_STARTED; /* what its thread does when it wakes */
	if (vh->state != HART_STARTED)
		return; /* a stopped hart makes no calls */
	h->stop_request = 1;
	helped = is_fence(ext) && pthread_create(&thread, NULL, fence_helper_main, &helper) == 0;
	sbi_ecall(vm, vh);
	if (helped) {
		helper.stop = true;
		pthread_join(thread, NULL);
	}
}

static void op_mmu(struct vm *vm, struct fuzz_in *in)
{
	struct hart *h = vm->harts[fin_u8(in) % vm->ncpus].hart;
	uint64_t mode = fin_u8(in) % 16;
	uint64_t root = (vm->ram.base >> 12) + fin_u8(in);
	static const uint8_t privs[] = { PRV_U, PRV_S, PRV_M };

	h->csr.satp = mode << 60 | root;
	h->priv = privs[fin_u8(in) % 3];
	h->csr.mstatus = fin_u64(in);
	trap_update_context(h);
	cpu_tlb_flush(h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_board b;
	struct vm *vm = &b.vm;

	fuzz_board_config(&b, NCPUS, 64 << 10);
	if (fuzz_board_build(&b) < 0)
		__builtin_trap();
	/* as the paravirtual boot leaves them: hart 0 runs, the others wait */
	for (int i = 0; i < vm->ncpus; i++) {
		vm->harts[i].hart->sbi_in_host = true;
		vm->harts[i].hart->priv = PRV_S;
		vm->harts[i].state = i == 0 ? HART_STARTED : HART_STOPPED;
	}
	while (fin_more(&in)) {
		switch (fin_u8(&in) % OP_COUNT) {
		case OP_CALL: op_call(vm, &in); break;
		case OP_RAM: {
			gpa_t at = vm->ram.base + fin_u16(&in);
			size_t got;
			const uint8_t *src = fin_take(&in, fin_u8(&in), &got);
			gmem_write(&vm->ram, at, src, got);
			break;
		}
		case OP_MMU: op_mmu(vm, &in); break;
		}
	}
	fuzz_board_free(&b);
	return 0;
}
