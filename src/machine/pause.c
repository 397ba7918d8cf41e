/* Pausing a VM: every hart parks at a block boundary, then the devices are
 * held still, so that a snapshot or a migration sees state and memory
 * that change no more.  A hart also parks here while it is stopped (SBI
 * HSM), so "every hart parked" is one count whatever their states. */
#include "condo/net.h"
#include "condo/virtio.h"
#include "cpu/priv.h"
#include "machine/vm.h"

/* The HSM start a parked hart wakes to (with vm->lock held). */
static void start_pending(struct vm_hart *vh)
{
	struct hart *h = vh->hart;

	vh->state = HART_STARTED;
	h->priv = PRV_S;
	h->pc = vh->start_addr;
	h->x[10] = h->hartid;
	h->x[11] = vh->start_arg;
	h->csr.satp = 0;
	h->csr.mstatus &= ~MSTATUS_SIE;
	trap_update_context(h);
	cpu_tlb_flush(h);
	cpu_code_flush(h);
}

bool vm_hart_wait(struct vm_hart *vh)
{
	struct vm *vm = vh->vm;

	pthread_mutex_lock(&vm->lock);
	vh->parked = true;
	vm->parked++;
	pthread_cond_broadcast(&vm->done_cond);
	while (!vm->done && (vm->pause_req || vh->state == HART_STOPPED))
		pthread_cond_wait(&vm->done_cond, &vm->lock);
	vm->parked--;
	vh->parked = false;
	if (!vm->done && vh->state == HART_START_PENDING)
		start_pending(vh);
	/* A stop asked for the pause is spent; one for the VM's end is not. */
	vh->hart->stop_request = vm->done;
	pthread_mutex_unlock(&vm->lock);
	return !vm->done;
}

/* The devices: each virtio device finishes what it started (a disk's
 * requests in flight complete into the used ring), the NICs stop. */
static void hold_devices(struct vm *vm)
{
	for (int i = 0; i < vm->nvirtio; i++)
		virtio_mmio_quiesce(vm->virtio[i].dev);
	for (int i = 0; i < vm->cfg->nnets && vm->nics; i++)
		net_nic_stop(vm->nics[i]);
}

int vm_park_harts(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	for (int i = 0; i < vm->ncpus; i++) {
		vm->harts[i].hart->stop_request = 1;
		cpu_kick(vm->harts[i].hart);
	}
	while (vm->parked < vm->ncpus && !vm->done)
		pthread_cond_wait(&vm->done_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return vm->done ? -1 : 0;
}

void vm_unpark_harts(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->done_cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_pause(struct vm *vm)
{
	if (vm->paused)
		return 0;
	if (vm_park_harts(vm) < 0) {
		vm_unpark_harts(vm);
		return -1;
	}
	vm->paused = true;
	hold_devices(vm);
	return 0;
}

void vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return;
	for (int i = 0; i < vm->cfg->nnets && vm->nics; i++)
		vm_nic_start(vm, i);
	vm->paused = false;
	vm_unpark_harts(vm);
}
