/* A full-system VM on the virt board: builds the board from its parts, runs
 * one host thread per hart, and tears everything down when the guest
 * powers off (or rebuilds it when the guest resets). */
#include "condo/aclint.h"
#include "condo/block.h"
#include "condo/block_aio.h"
#include "condo/block_dirty.h"
#include "condo/devices.h"
#include "condo/engine.h"
#include "condo/jail.h"
#include "condo/log.h"
#include "condo/net.h"
#include "condo/virtio.h"
#include "cpu/csr.h"
#include "cpu/priv.h"
#include "machine/vm.h"
#include "machine/meter.h"
#include "machine/cpulimit.h"
#include "machine/restore.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void vm_shutdown(struct vm *vm, int status, bool reboot)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->done) {
		vm->done = true;
		vm->exit_status = status;
		vm->reboot = reboot;
	}
	pthread_cond_broadcast(&vm->done_cond);
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->ncpus; i++) {
		if (vm->harts[i].hart) {
			vm->harts[i].hart->stop_request = 1;
			cpu_kick(vm->harts[i].hart);
		}
	}
}

/* ---- the harts' view of the board ---- */

static bool is_htif(const struct vm *vm, gpa_t page)
{
	return vm->tohost && page == (vm->tohost & GUEST_PAGE_MASK);
}

static int board_fill(struct hart *h, gva_t page, enum mem_access acc, uint8_t **host)
{
	struct vm *vm = h->env_ctx;
	uint8_t *p;

	if (is_htif(vm, page))
		return acc == ACC_EXEC ? -1 : FILL_MMIO;
	p = gmem_ptr(&vm->ram, page, GUEST_PAGE_SIZE);
	if (p) {
		*host = p;
		return 0;
	}
	return acc == ACC_EXEC ? -1 : FILL_MMIO;
}

/* riscv-tests HTIF: tohost = (code << 1) | 1 ends the program; device 1
 * command 1 prints a character; anything else points at a "magic_mem"
 * system-call block (write and exit). */
static void htif_command(struct vm *vm, uint64_t cmd)
{
	uint64_t args[4];

	if (cmd & 1) {
		int code = (int)(cmd >> 1);
		if (code)
			log_err("htif", "program reported failure %d", code);
		vm_shutdown(vm, code ? (code & 0x7f ? code & 0xff : 1) : 0, false);
		return;
	}
	if ((cmd >> 56) == 1 && ((cmd >> 48) & 0xff) == 1) {
		uint8_t c = (uint8_t)cmd;
		console_write(&c, 1);
	} else if (gmem_read(&vm->ram, cmd, args, sizeof(args)) == 0) {
		if (args[0] == 64) { /* write(fd, buf, len) */
			const void *p = gmem_ptr(&vm->ram, args[2], args[3]);
			if (p)
				console_write(p, args[3]);
		} else if (args[0] == 93) {
			vm_shutdown(vm, (int)(args[1] & 0xff), false);
		}
	}
	if (vm->fromhost) {
		uint64_t one = 1;
		gmem_write(&vm->ram, vm->fromhost, &one, 8);
	}
}

static int board_mmio_read(struct hart *h, gpa_t addr, unsigned len, uint64_t *val)
{
	struct vm *vm = h->env_ctx;

	if (is_htif(vm, addr & GUEST_PAGE_MASK)) {
		*val = 0;
		return gmem_read(&vm->ram, addr, val, len);
	}
	return bus_read(&vm->bus, addr, len, val);
}

static int board_mmio_write(struct hart *h, gpa_t addr, unsigned len, uint64_t val)
{
	struct vm *vm = h->env_ctx;

	if (is_htif(vm, addr & GUEST_PAGE_MASK)) {
		if (gmem_write(&vm->ram, addr, &val, len) < 0)
			return -1;
		if (addr == vm->tohost && val) {
			htif_command(vm, val);
			val = 0;
			gmem_write(&vm->ram, vm->tohost, &val, 8);
		}
		return 0;
	}
	return bus_write(&vm->bus, addr, len, val);
}

static const struct hart_env_ops board_env = {
	.fill = board_fill,
	.mmio_read = board_mmio_read,
	.mmio_write = board_mmio_write,
};

/* What outlives one boot: the open files and disks, and the jail. */
struct vm_res {
	struct vm_files files;
	struct block_dev *disks[VM_MAX_DRIVES];
	struct block_aio *disk_aio[VM_MAX_DRIVES];
	struct net_nic *nics[NET_MAX_NICS];
	struct jail jail;
	struct meter meter; /* across reboots: the counters only grow */
	uint32_t cpu_mcores; /* --cpu-limit, or the last read from --cpu-limit-file */
	struct control *control; /* --control */
	struct vm_restore restore; /* --restore: what the first boot resumes (state NULL: none) */
	int incoming; /* --incoming: the migration stream the first boot resumes (-1: none) */
	char *paths[3 + VM_MAX_DRIVES]; /* absolute paths made for the manifest */
	struct vm_strings strings; /* what a restore or a migration configured */
};

/* ---- hart threads ---- */

static void *hart_main(void *arg)
{
	struct vm_hart *vh = arg;
	struct vm *vm = vh->vm;
	struct hart *h = vh->hart;
	struct cpulimit_hart bucket;
	uint64_t slice_end = h->instret + CPULIMIT_SLICE, real, cap;
	uint32_t mcores;
	int exit;

	if (jail_thread(vm->jail, JAIL_VM_HART) < 0) {
		vm_shutdown(vm, VM_EXIT_ERROR, false);
		return NULL;
	}
	cpulimit_start(&bucket);
	if (log_enabled(LOG_DEBUG)) { /* for bench-snapshot: the start-up latency */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		log_debug("run", "hart %llu runs at %lld.%09ld (monotonic)",
			  (unsigned long long)h->hartid, (long long)ts.tv_sec, ts.tv_nsec);
	}
	while (!vm->done) {
		if ((vh->state != HART_STARTED || vm->pause_req) && !vm_hart_wait(vh))
			break;
		/* The hart runs in slices, so it sees a new CPU limit soon even
		 * in a guest that makes no SBI calls (Sstc timers); under a
		 * limit it looks at its bucket between them. */
		if (h->instret >= slice_end) {
			mcores = __atomic_load_n(vm->cpu_mcores, __ATOMIC_RELAXED);
			if (mcores)
				cpulimit_slice_end(&bucket, mcores / (uint32_t)vm->ncpus);
			else
				cpulimit_start(&bucket); /* no debt from unlimited time */
			slice_end = h->instret + CPULIMIT_SLICE;
		}
		real = h->insn_limit;
		cap = slice_end < real ? slice_end : real;
		h->insn_limit = cap;
		exit = engine_run(h);
		/* Traps count against the budget by lowering insn_limit: the
		 * real limit keeps what the slice's traps took. */
		h->insn_limit = real - (cap - h->insn_limit);
		switch (exit) {
		case CPU_EXIT_ECALL:
			sbi_ecall(vm, vh);
			break;
		case CPU_EXIT_LIMIT:
			if (h->instret < h->insn_limit)
				break; /* a slice's end: the bucket, above */
			log_err("run", "hart %llu reached the instruction limit (--max-insns %llu)",
				(unsigned long long)h->hartid,
				(unsigned long long)vm->cfg->max_insns);
			vm_shutdown(vm, VM_EXIT_LIMIT, false);
			break;
		case CPU_EXIT_TRAP:
			/* system-mode traps go to the guest; this is a condo bug */
			log_err("run", "hart %llu: unexpected trap exit, cause %llu",
				(unsigned long long)h->hartid, (unsigned long long)h->trap_cause);
			vm_shutdown(vm, VM_EXIT_ERROR, false);
			break;
		case CPU_EXIT_STOP:
			break;
		}
	}
	return NULL;
}

/* ---- building and tearing down the board ---- */

static void on_test_exit(void *ctx, int kind, int code)
{
	vm_shutdown(ctx, code, kind == VM_SHUTDOWN_REBOOT);
}

static struct irq_line plic_line(struct vm *vm, unsigned irq)
{
	return (struct irq_line){ .set = plic_set_irq, .ctrl = vm->plic, .irq = irq };
}

static int add_device(struct vm *vm, gpa_t base, uint64_t size, const struct dev_ops *ops,
		      void *dev)
{
	if (!dev) {
		log_err("run", "cannot create device %s", ops->name);
		return -1;
	}
	if (bus_add(&vm->bus, base, size, ops, dev) < 0) {
		log_err("run", "cannot map device %s at %#llx", ops->name, (unsigned long long)base);
		if (ops->free)
			ops->free(dev);
		return -1;
	}
	return 0;
}

static int add_virtio(struct vm *vm, struct virtio_mmio *dev)
{
	gpa_t base = VIRT_VIRTIO_BASE + (gpa_t)vm->nvirtio * VIRT_VIRTIO_SIZE;

	if (vm->nvirtio == VIRT_VIRTIO_SLOTS) {
		log_err("run", "too many virtio devices (at most %d)", VIRT_VIRTIO_SLOTS);
		if (dev)
			virtio_mmio_free(dev);
		return -1;
	}
	if (!dev) {
		log_err("run", "cannot create a virtio device");
		return -1;
	}
	if (bus_add(&vm->bus, base, VIRT_VIRTIO_SIZE, &virtio_mmio_ops, dev) < 0) {
		virtio_mmio_free(dev);
		return -1;
	}
	vm->virtio[vm->nvirtio++].dev = dev;
	return 0;
}

static int blk_thread_start(void *ctx)
{
	struct vm *vm = ctx;

	if (jail_thread(vm->jail, JAIL_VM_BLK) < 0) {
		vm_shutdown(vm, VM_EXIT_ERROR, false);
		return -1;
	}
	return 0;
}

/* A disk: its engine's threads for this boot, then the device. */
static int add_disk(struct vm *vm, int i)
{
	const struct vm_drive *d = &vm->cfg->drives[i];
	struct virtio_blk_opts opts = { .name = d->file,
					.readonly = d->readonly,
					.flush_unsafe = d->cache == VM_CACHE_UNSAFE,
					.discard_unmap = d->discard,
					.aio = vm->disk_aio ? vm->disk_aio[i] : NULL };

	if (opts.aio && block_aio_start(opts.aio, blk_thread_start, vm) < 0)
		return -1;
	return add_virtio(vm, virtio_blk_new(&vm->ram, plic_line(vm, VIRT_VIRTIO_IRQ + vm->nvirtio),
					     vm->disks[i], &opts));
}

static int net_thread_start(void *ctx)
{
	struct vm *vm = ctx;

	if (jail_thread(vm->jail, JAIL_VM_NET) < 0) {
		vm_shutdown(vm, VM_EXIT_ERROR, false);
		return -1;
	}
	return 0;
}

int vm_nic_start(struct vm *vm, int i)
{
	return vm->jail ? net_nic_start(vm->nics[i], net_thread_start, vm) : 0;
}

/* A NIC: its thread for this boot, then the device. */
static int add_nic(struct vm *vm, int i)
{
	if (vm_nic_start(vm, i) < 0)
		return -1;
	return add_virtio(vm, virtio_net_new(&vm->ram, plic_line(vm, VIRT_VIRTIO_IRQ + vm->nvirtio),
					     vm->nics[i]));
}

/* A page became code, or code was written (by a hart or a device): every
 * hart acts on it at its next block boundary. */
static void code_event(void *ctx, enum code_event what)
{
	struct vm *vm = ctx;

	for (int i = 0; i < vm->ncpus; i++)
		if (vm->hart_ptrs[i])
			cpu_code_event(vm->hart_ptrs[i], what);
}

int vm_build_board(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t time_offset = csr_time_now();
	int err;

	if (ram_init(&vm->ram, VIRT_RAM_BASE, cfg->mem_size) < 0) {
		log_err("run", "cannot reserve %llu MiB of guest RAM",
			(unsigned long long)(cfg->mem_size >> 20));
		return -1;
	}
	vm->ram.code->notify = code_event;
	vm->ram.code->ctx = vm;
	for (int i = 0; i < vm->ncpus; i++) {
		struct hart *h = hart_new(&board_env, vm);
		if (!h || engine_setup_hart(h, cfg->engine, cfg->jit_cache, cfg->jit_hot) < 0) {
			hart_free(h);
			return -1;
		}
		cpu_set_code_map(h, vm->ram.code);
		cpu_set_dirty_log(h, vm->ram.dirty);
		cpu_reset_system(h, (uint64_t)i, VIRT_RAM_BASE);
		h->time_offset = time_offset;
		if (cfg->max_insns)
			h->insn_limit = cfg->max_insns > vm->insns_spent ?
						cfg->max_insns - vm->insns_spent : 0;
		vm->harts[i] = (struct vm_hart){ .hart = h, .vm = vm, .state = HART_STOPPED };
		vm->hart_ptrs[i] = h;
	}
	vm->aclint = aclint_new(vm->hart_ptrs, vm->ncpus);
	vm->plic = plic_new(vm->hart_ptrs, vm->ncpus);
	vm->uart = vm->plic ? uart16550_new(plic_line(vm, VIRT_UART_IRQ), STDOUT_FILENO) : NULL;
	err = add_device(vm, VIRT_ACLINT_BASE, ACLINT_SIZE, &aclint_ops, vm->aclint) ||
	      add_device(vm, VIRT_PLIC_BASE, VIRT_PLIC_SIZE, &plic_ops, vm->plic) ||
	      add_device(vm, VIRT_UART_BASE, 0x100, &uart16550_ops, vm->uart) ||
	      add_device(vm, VIRT_RTC_BASE, 0x1000, &goldfish_rtc_ops,
			 goldfish_rtc_new(plic_line(vm, VIRT_RTC_IRQ))) ||
	      add_device(vm, VIRT_TEST_BASE, 0x1000, &sifive_test_ops,
			 sifive_test_new(on_test_exit, vm));
	for (int i = 0; i < cfg->ndrives && !err; i++)
		err = add_disk(vm, i);
	for (int i = 0; i < cfg->nnets && vm->nics && !err; i++)
		err = add_nic(vm, i);
	err = err || add_virtio(vm, virtio_rng_new(&vm->ram,
						   plic_line(vm, VIRT_VIRTIO_IRQ + vm->nvirtio)));
	err = err || add_virtio(vm, virtio_console_new(&vm->ram,
						       plic_line(vm, VIRT_VIRTIO_IRQ + vm->nvirtio),
						       vm->loop, -1, STDOUT_FILENO));
	return err ? -1 : 0;
}

void vm_destroy_board(struct vm *vm)
{
	/* The virtio devices first: a disk waits there for its requests in
	 * flight, whose completions raise the PLIC's lines and mark code
	 * written, so the PLIC and the harts must still be there. */
	for (int i = 0; i < vm->bus.count; i++)
		if (vm->bus.regions[i].ops == &virtio_mmio_ops)
			virtio_mmio_free(vm->bus.regions[i].dev);
	for (int i = 0; i < vm->bus.count; i++) {
		const struct mmio_region *r = &vm->bus.regions[i];
		if (r->ops != &virtio_mmio_ops && r->ops->free)
			r->ops->free(r->dev);
	}
	vm->bus.count = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		hart_free(vm->harts[i].hart);
		vm->harts[i].hart = NULL;
	}
	/* After the devices: a disk's last requests may touch pages it serves. */
	snapshot_lazy_stop(vm->lazy);
	vm->lazy = NULL;
	ram_free(&vm->ram);
}

/* Tell the user about devices the guest never set up, with the likely cause. */
static void report_unused_devices(struct vm *vm)
{
	for (int i = 0; i < vm->nvirtio; i++) {
		struct virtio_mmio *d = vm->virtio[i].dev;
		uint32_t id = virtio_mmio_device_id(d);
		if ((id == VIRTIO_ID_BLOCK || id == VIRTIO_ID_NET) && !virtio_mmio_driver_ok(d))
			log_warn("the guest never initialised the %s device (is %s enabled in its "
				 "kernel?)",
				 virtio_mmio_name(d), virtio_mmio_kconfig(d));
	}
}

/* One boot of the board: returns the exit status, or -1 to boot again.
 * *spent carries the instructions of earlier boots, so --max-insns also
 * bounds a guest that keeps rebooting. */
static void loop_thread_start(void *ctx)
{
	struct vm *vm = ctx;

	if (jail_thread(vm->jail, JAIL_VM_IO) < 0)
		vm_shutdown(vm, VM_EXIT_ERROR, false);
}

static int run_once(const struct vm_config *cfg, struct vm_res *res, uint64_t *spent)
{
	struct vm vm = { .cfg = cfg, .files = &res->files, .jail = &res->jail, .disks = res->disks,
			 .disk_aio = res->disk_aio, .nics = res->nics, .ncpus = cfg->cpus, .insns_spent = *spent,
			 .cpu_mcores = &res->cpu_mcores };
	int status = VM_EXIT_ERROR, started = 0;
	uint64_t instret0[VM_MAX_CPUS] = { 0 }; /* non-zero after a restore */

	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.done_cond, NULL);
	vm.loop = evloop_new();
	if (vm.loop)
		evloop_on_start(vm.loop, loop_thread_start, &vm);
	if (!vm.loop || vm_build_board(&vm) < 0)
		goto out;
	if (res->restore.state && !res->restore.applied) {
		/* Only the first boot resumes; a guest reset boots afresh. */
		res->restore.applied = true;
		if (vm_restore_apply(&vm, &res->restore) < 0)
			goto out;
	} else if (res->incoming >= 0) {
		int r = vm_incoming_apply(&vm, res->incoming);

		close(res->incoming);
		res->incoming = -1;
		if (r < 0)
			goto out;
	} else if (boot_load(&vm) < 0) {
		goto out;
	}
	if (control_attach(res->control, &vm) < 0 || console_init(&vm) < 0 || meter_attach(&res->meter, vm.loop, vm.hart_ptrs, vm.ncpus) < 0 ||
	    evloop_start(vm.loop) < 0) {
		log_err("run", "cannot start the console");
		goto out;
	}
	for (int i = 0; i < vm.ncpus; i++)
		instret0[i] = vm.harts[i].hart->instret;
	for (started = 0; started < vm.ncpus; started++) {
		if (pthread_create(&vm.harts[started].thread, NULL, hart_main, &vm.harts[started])) {
			log_err("run", "cannot start a thread for hart %d", started);
			vm_shutdown(&vm, VM_EXIT_ERROR, false);
			break;
		}
	}
	pthread_mutex_lock(&vm.lock);
	while (!vm.done) {
		if (vm.control_req && !vm.control_req->taken)
			vm_control_run(&vm);
		else
			pthread_cond_wait(&vm.done_cond, &vm.lock);
	}
	pthread_mutex_unlock(&vm.lock);
	for (int i = 0; i < started; i++)
		pthread_join(vm.harts[i].thread, NULL);
	status = vm.reboot ? -1 : vm.exit_status;
	meter_detach(&res->meter);
	{
		uint64_t most = 0; /* the limit is per hart: charge the busiest */
		for (int i = 0; i < vm.ncpus; i++)
			if (vm.harts[i].hart->instret - instret0[i] > most)
				most = vm.harts[i].hart->instret - instret0[i];
		*spent += most + 1; /* + 1: even a boot that retires nothing counts */
	}
	report_unused_devices(&vm);
	if (vm.cfg->jit_stats) {
		struct engine_stats sum = { 0 };

		for (int i = 0; i < vm.ncpus; i++)
			engine_stats_add(&sum, vm.harts[i].hart);
		engine_stats_print(&sum);
	}
out:
	evloop_free(vm.loop); /* stops its thread before the devices go */
	vm_destroy_board(&vm); /* each disk waits for its requests in flight */
	for (int i = 0; i < cfg->ndrives; i++)
		block_aio_stop(res->disk_aio[i]);
	for (int i = 0; i < cfg->nnets; i++)
		net_nic_stop(res->nics[i]);
	console_restore();
	pthread_cond_destroy(&vm.done_cond);
	pthread_mutex_destroy(&vm.lock);
	return status;
}

/* Limits derived from the VM's size: guest RAM (one reservation), each
 * hart's two views of its code cache, thread stacks and malloc arenas,
 * and room for the rest of condo. */
static void jail_limits(const struct vm_config *cfg, struct jail_config *j)
{
	uint64_t cache = cfg->jit_cache ? cfg->jit_cache : JIT_CACHE_DEFAULT;
	uint64_t per_hart = 2 * cache + (8ull << 20) + (64ull << 20);
	uint64_t per_disk = BLOCK_AIO_MAX_THREADS * ((8ull << 20) + (64ull << 20));

	if (!j->as_limit)
		j->as_limit = cfg->mem_size + (uint64_t)cfg->cpus * per_hart +
			      (uint64_t)cfg->ndrives * per_disk + (1ull << 30);
	if (!j->nofile)
		j->nofile = 256;
	/* No RLIMIT_NPROC: it is per uid, and VMs share theirs (jail/limits.c). */
	if (!j->mem_max)
		j->mem_max = cfg->mem_size + (uint64_t)cfg->cpus * 2 * cache + (512ull << 20);
	/* each disk's threads, io_uring's kernel workers among them */
	if (!j->pids_max)
		j->pids_max = (uint64_t)cfg->cpus + 8 + (uint64_t)cfg->ndrives * BLOCK_AIO_MAX_THREADS +
			      (uint64_t)cfg->nnets;
}

/* cache=none: O_DIRECT where the format can; a qcow2 image (its metadata
 * is read and written in small pieces) stays in the page cache. */
static int disk_cache(const struct vm_drive *d, struct block_dev *disk)
{
	int err;

	if (d->cache != VM_CACHE_NONE)
		return 0;
	if (!disk->ops->set_direct) {
		log_info("run", "%s: cache=none: only raw images bypass the host page cache",
			 d->file);
		return 0;
	}
	err = disk->ops->set_direct(disk);
	if (err < 0)
		log_err("run", "%s: cache=none: cannot use O_DIRECT: %s", d->file, strerror(-err));
	else
		log_info("run", "%s: cache=none: O_DIRECT, blocks of %u bytes", d->file,
			 disk->block_size);
	return err;
}

/* dirty-bitmap=FILE: the disk behind a filter that records what the
 * guest changes (mapped before the jail, then only memory writes). */
static int track_changes(const struct vm_drive *d, struct block_dev **disk)
{
	struct block_dirty *map;

	if (!d->dirty_bitmap)
		return 0;
	if (d->readonly) {
		log_err("run", "%s: dirty-bitmap= needs a writable drive", d->file);
		return -1;
	}
	map = block_dirty_open(d->dirty_bitmap, (*disk)->size);
	if (!map)
		return -1;
	*disk = block_dirty_filter(*disk, map);
	return *disk ? 0 : -1;
}

/* --console FILE: the guest's console (the UART, the virtio console, the
 * SBI's) goes to FILE instead of the terminal, and takes no input. */
static int redirect_console(const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (out < 0 || in < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(in, STDIN_FILENO) < 0) {
		log_err("run", "--console %s: %s", path, strerror(errno));
		if (out >= 0)
			close(out);
		if (in >= 0)
			close(in);
		return -1;
	}
	close(out);
	close(in);
	return 0;
}

/* Open the disks, with their backing chains, then enter the jail:
 * namespaces (and --jail-dir, where the boot files are then found), open
 * the boot files, lock down, and filter this thread; the harts and the
 * event loop add their own filters.  Disks are opened first, outside the
 * jail's root: a qcow2 overlay names its backing file relative to where
 * the overlay lies on the host. */
static int open_and_jail(const struct vm_config *in, struct vm_config *cfg, struct vm_res *res)
{
	const char *paths[3] = { in->bios_none ? NULL : in->bios, in->kernel, in->initrd };
	struct jail_config jc = in->jail;

	*cfg = *in;
	for (int i = 0; i < cfg->ndrives; i++) {
		res->disks[i] = block_open_in(cfg->drives[i].file,
					      (enum block_format)cfg->drives[i].format,
					      cfg->drives[i].readonly, cfg->image_dir);
		if (cfg->drives[i].temporary)
			unlink(cfg->drives[i].file);
		if (!res->disks[i] || track_changes(&cfg->drives[i], &res->disks[i]) < 0)
			return -1;
	}
	/* The NICs' sockets, tap and switch connections, and hostfwd's
	 * listening sockets: before the jail takes the host's network. */
	for (int i = 0; i < cfg->nnets; i++) {
		res->nics[i] = net_nic_open(&cfg->nets[i], i);
		if (!res->nics[i])
			return -1;
		if (cfg->nets[i].kind == NET_USER)
			jc.keep_net = true; /* slirp's outbound sockets are the host's */
	}
	if (cfg->control && !(res->control = control_open(cfg->control)))
		return -1;
	if (cfg->console && redirect_console(cfg->console) < 0)
		return -1;
	res->cpu_mcores = cfg->cpu_mcores;
	if (meter_open(&res->meter, cfg->meter, cfg->cpu_limit_file) < 0)
		return -1;
	res->meter.cpu_mcores = &res->cpu_mcores;
	res->meter.disks = res->disks;
	res->meter.ndisks = cfg->ndrives;
	res->meter.nics = res->nics;
	res->meter.nnics = cfg->nnets;
	jail_limits(in, &jc);
	jc.kinds = 1u << JAIL_VMM | 1u << JAIL_VM_IO | 1u << JAIL_VM_HART | 1u << JAIL_VM_BLK |
		   1u << JAIL_VM_NET;
	if (jail_enter(&res->jail, &jc, paths, 3) < 0)
		return -1;
	if (!in->bios_none)
		cfg->bios = paths[0];
	cfg->kernel = paths[1];
	cfg->initrd = paths[2];
	if (boot_open_files(cfg, &res->files) < 0)
		return -1;
	for (int i = 0; i < cfg->ndrives; i++) {
		if (disk_cache(&cfg->drives[i], res->disks[i]) < 0)
			return -1;
		/* the ring is set up before the lockdown: no io_uring_setup after */
		res->disk_aio[i] = block_aio_new(res->disks[i],
						 (enum block_aio_kind)cfg->drives[i].aio);
		if (!res->disk_aio[i])
			return -1;
		log_info("run", "%s: block I/O through %s", cfg->drives[i].file,
			 block_aio_name(res->disk_aio[i]));
	}
	if (jail_lockdown(&res->jail) < 0 || jail_thread(&res->jail, JAIL_VMM) < 0)
		return -1;
	return 0;
}

/* A host path as an absolute one, for the manifest of a snapshot taken
 * later (the jail may have moved the root by then); kept in res. */
static const char *absolute(struct vm_res *res, int slot, const char *path)
{
	if (!path || block_is_remote(path, BLOCK_FORMAT_AUTO))
		return path;
	res->paths[slot] = realpath(path, NULL);
	return res->paths[slot] ? res->paths[slot] : path;
}

int vm_run(const struct vm_config *in)
{
	struct vm_res res = { .files = { -1, -1, -1 }, .meter = { .fd = -1, .timer = -1 },
			      .restore = { .mem_fd = -1, .uffd = -1 }, .incoming = -1 };
	struct vm_config base = *in, cfg;
	uint64_t spent = 0;
	int status = VM_EXIT_ERROR;

	if (in->cpus < 1 || in->cpus > VM_MAX_CPUS) {
		log_err("run", "--cpus %d: must be 1 to %d", in->cpus, VM_MAX_CPUS);
		return VM_EXIT_ERROR;
	}
	/* A peer that goes away (a host client of a port forward, an NBD
	 * server, a switch) is an error on that socket, never the VM's end:
	 * a host client timing out on a hostfwd port killed the VMM. */
	signal(SIGPIPE, SIG_IGN);
	if (!in->restore && in->ndrives + in->nnets > VM_MAX_DRIVES) {
		log_err("run", "%d disks and %d NICs: at most %d together (virtio slots)", in->ndrives,
			in->nnets, VM_MAX_DRIVES);
		return VM_EXIT_ERROR;
	}
	if (in->restore && vm_restore_open(in->restore, &base, &res.restore, &res.strings) < 0)
		goto out;
	if (in->incoming && (res.incoming = vm_incoming_open(in->incoming, &base, &res.strings)) < 0)
		goto out;
	base.kernel_path = absolute(&res, 0, base.kernel);
	base.initrd_path = absolute(&res, 1, base.initrd);
	base.bios_path = base.bios_none ? NULL : absolute(&res, 2, base.bios);
	for (int i = 0; i < base.ndrives; i++)
		base.drives[i].host_path = absolute(&res, 3 + i, base.drives[i].file);
	if (open_and_jail(&base, &cfg, &res) == 0) {
		while ((status = run_once(&cfg, &res, &spent)) == -1)
			log_info("run", "guest reset: booting again");
	}
out:
	vm_restore_close(&res.restore);
	if (res.incoming >= 0)
		close(res.incoming);
	control_close(res.control);
	for (size_t i = 0; i < sizeof(res.paths) / sizeof(res.paths[0]); i++)
		free(res.paths[i]);
	meter_close(&res.meter);
	for (int i = 0; i < NET_MAX_NICS; i++)
		net_nic_close(res.nics[i]);
	for (int i = 0; i < VM_MAX_DRIVES; i++) {
		block_aio_free(res.disk_aio[i]);
		if (res.disks[i])
			block_close(res.disks[i]);
	}
	boot_close_files(&res.files);
	vm_strings_free(&res.strings);
	return status;
}
