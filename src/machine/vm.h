/* The board's internals, shared by the files of src/machine and by the SBI. */
#ifndef MACHINE_VM_H
#define MACHINE_VM_H

#include "condo/cpu.h"
#include "condo/evloop.h"
#include "condo/machine.h"
#include "condo/mem.h"

#include <pthread.h>

/* The virt board's memory map (DESIGN.md, "Machine model"). */
#define VIRT_TEST_BASE   0x00100000ull
#define VIRT_RTC_BASE    0x00101000ull
#define VIRT_ACLINT_BASE 0x02000000ull
#define VIRT_PLIC_BASE   0x0c000000ull
#define VIRT_PLIC_SIZE   0x00600000ull
#define VIRT_UART_BASE   0x10000000ull
#define VIRT_VIRTIO_BASE 0x10001000ull
#define VIRT_VIRTIO_SIZE 0x1000ull
#define VIRT_VIRTIO_SLOTS 8
#define VIRT_RAM_BASE    0x80000000ull
#define VIRT_UART_IRQ    10
#define VIRT_RTC_IRQ     11
#define VIRT_VIRTIO_IRQ  1 /* slot n uses VIRT_VIRTIO_IRQ + n */

#define TIMEBASE_FREQ 10000000u

enum hart_state { HART_STARTED, HART_STOPPED, HART_START_PENDING };

struct vm_hart {
	struct hart *hart;
	struct vm *vm;
	pthread_t thread;
	volatile int state;      /* enum hart_state, for SBI HSM */
	uint64_t start_addr, start_arg;
	/* Waiting in hart_wait (stopped or paused) and running no guest
	 * code: a remote fence need not wait for it (it flushes on waking). */
	volatile bool parked;
};

struct vm_virtio_slot {
	struct virtio_mmio *dev;
	const char *what;      /* "disk", "console", "rng" */
	const char *kconfig;   /* the kernel option a guest needs to drive it */
};

/* Firmware, kernel and initrd, open for the life of the VM (boot.c). */
struct vm_files {
	int bios, kernel, initrd; /* -1: none */
};

struct vm {
	const struct vm_config *cfg;
	const struct vm_files *files;
	struct jail *jail;
	struct guest_ram ram;
	struct bus bus;
	struct evloop *loop;
	int ncpus;
	struct vm_hart harts[VM_MAX_CPUS];
	struct hart *hart_ptrs[VM_MAX_CPUS];

	struct uart16550 *uart;
	struct plic *plic;
	struct aclint *aclint;
	struct vm_virtio_slot virtio[VIRT_VIRTIO_SLOTS];
	int nvirtio;
	struct block_dev *const *disks; /* open for the life of the VM, as the files */
	/* each disk's engine, started per boot; NULL: requests run on the
	 * notifying thread (the fuzz harnesses' boards) */
	struct block_aio *const *disk_aio;
	struct net_nic *const *nics; /* open for the life of the VM; NULL: none */

	uint64_t insns_spent; /* by earlier boots of this VM (reboots) */
	uint32_t *cpu_mcores; /* the CPU limit (cpulimit.c), across reboots; 0: none */

	/* HTIF (tohost/fromhost) of riscv-tests-style ELF programs */
	gpa_t tohost, fromhost;

	/* Set once by whoever ends the VM (poweroff, reset, a limit, Ctrl-A x). */
	pthread_mutex_t lock;
	pthread_cond_t done_cond; /* also: harts parking and waking, control requests */
	bool done;
	int exit_status;
	bool reboot;

	/* Pausing (pause.c): while pause_req holds, every hart parks at its
	 * next block boundary; parked counts those that did. */
	volatile bool pause_req;
	int parked;
	bool paused;     /* vm_pause completed and no vm_resume yet */

	/* The control socket (control.c): a request handed from the event
	 * loop to the main thread, which runs it (vm_control_run). */
	struct control *control;
	struct control_req *control_req;

	/* A lazy restore's page server (condo/snapshot.h), stopped before
	 * the RAM it serves goes; NULL: none. */
	struct snapshot_lazy *lazy;
};

/* Start NIC i's thread (each boot, and on resuming from a pause). */
int vm_nic_start(struct vm *vm, int i);

/* ---- pause.c ---- */

/* Park every hart at a block boundary, then hold the devices still: each
 * disk's requests in flight complete and the NICs stop delivering.  On
 * return the VM's state and memory change no more until vm_resume.  Main
 * thread only.  0, or -1 when the VM ended meanwhile. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Only the harts, briefly (a migration round): parked at a block
 * boundary, devices running.  0, or -1 when the VM ended meanwhile. */
int vm_park_harts(struct vm *vm);
void vm_unpark_harts(struct vm *vm);
/* A hart waits here while stopped (SBI HSM) or while the VM is paused.
 * False when the VM ended. */
bool vm_hart_wait(struct vm_hart *vh);

/* ---- control.c, control_cmds.c ---- */

/* A request off the control socket: its JSON, the descriptors sent with
 * it (SCM_RIGHTS), and the reply the main thread fills in. */
#define CONTROL_MAX_FDS 4
struct control_req {
	const char *cmd;
	void *args;      /* json_t *, the whole request */
	int fds[CONTROL_MAX_FDS];
	int nfds;        /* the command takes those it keeps (sets them -1) */
	void *reply;     /* json_t *: {"ok": true, ...} or {"ok": false, "error": "..."} */
	bool taken, done; /* by the main thread */
	bool holds_pause; /* in and out: the VM is paused for this client */
};

/* Listen on path (a Unix socket, made before the jail).  NULL after a
 * one-line error. */
struct control *control_open(const char *path);
void control_close(struct control *ctl);
/* Serve the socket on vm's event loop (each boot). */
int control_attach(struct control *ctl, struct vm *vm);
/* Main thread: run vm->control_req, if any (with vm->lock held; the
 * lock is dropped while the command runs). */
void vm_control_run(struct vm *vm);

/* The board of vm->cfg: RAM, harts (not running) and every device on the
 * bus; vm->loop may be NULL (no console input).  On failure -1 with the
 * error logged; vm_destroy_board frees what was built, in both cases.
 * Exported for the fuzzers (tests/fuzz), which drive a board without
 * running its harts. */
int vm_build_board(struct vm *vm);
void vm_destroy_board(struct vm *vm);

/* End the VM with this exit status (first caller wins) and stop all harts. */
void vm_shutdown(struct vm *vm, int status, bool reboot);

/* Open the files a boot loads, once; closed by boot_close_files.  0, or
 * -1 after a one-line error naming the file. */
int boot_open_files(const struct vm_config *cfg, struct vm_files *f);
void boot_close_files(struct vm_files *f);

/* Boot: load firmware/kernel/initrd, build the device tree, set up harts. */
int boot_load(struct vm *vm);

/* The device tree of the board into buf; returns its size or -1. */
int fdt_build(struct vm *vm, void *buf, int bufsize, gpa_t initrd_start, gpa_t initrd_end);

/* The host console: raw mode, Ctrl-A x, input to the UART and the SBI. */
int console_init(struct vm *vm);
void console_restore(void);
/* Read one byte of console input for the SBI console (-1: none). */
int console_getchar(struct vm *vm);
void console_write(const void *buf, size_t len);

/* The paravirtual SBI: handles an ecall from S-mode (pc still at the ecall). */
void sbi_ecall(struct vm *vm, struct vm_hart *vh);

#endif
