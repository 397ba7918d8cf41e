/* A full-system VM on the virt board: configuration and the entry point
 * the CLI calls.  One VM per process. */
#ifndef CONDO_MACHINE_H
#define CONDO_MACHINE_H

#include "condo/jail.h"
#include "condo/net.h"
#include "condo/types.h"

#define VM_MAX_CPUS   8
#define VM_MAX_DRIVES 6 /* of the 8 virtio slots; rng and console take two */
/* Disks and NICs share those 6 slots; at most NET_MAX_NICS NICs. */

/* Exit statuses of condo run besides the guest's own. */
enum {
	VM_EXIT_ERROR = 1,  /* bad configuration or input; nothing ran */
	VM_EXIT_LIMIT = 137, /* --max-insns reached */
};

/* --drive cache= */
enum vm_cache {
	VM_CACHE_WRITEBACK, /* the host page cache; a guest flush is fdatasync */
	VM_CACHE_NONE,      /* O_DIRECT on raw images; a guest flush is fdatasync */
	VM_CACHE_UNSAFE,    /* the host page cache; a guest flush does nothing */
};

struct vm_drive {
	const char *file;
	int format;     /* enum block_format (condo/block.h); 0: probe */
	bool readonly;
	int cache;      /* enum vm_cache */
	bool discard;   /* discard=unmap: guest discards reach the image (default ignore) */
	int aio;        /* enum block_aio_kind (condo/block_aio.h); 0: auto */
	const char *dirty_bitmap; /* changed-block tracking file (condo/block_dirty.h) */
	bool temporary; /* made for this run (a restore's overlay): unlinked once open */
	bool copy;      /* copy=on (--restore): file becomes a whole copy of the frozen disk */
	const char *host_path; /* set by vm_run: file as an absolute path, for a manifest */
};

struct vm_config {
	const char *kernel;  /* Image, ELF or raw binary; NULL: the default guest */
	bool kernel_raw;     /* --kernel-format raw: load it as it is (else raw only with bios_none) */
	const char *initrd;
	const char *append;  /* kernel command line */
	const char *bios;    /* M-mode firmware; NULL: condo is the SBI (paravirtual) */
	bool bios_none;      /* --bios none: the kernel is a bare-metal M-mode program */
	uint64_t mem_size;
	int cpus;
	struct vm_drive drives[VM_MAX_DRIVES];
	int ndrives;
	struct net_config nets[NET_MAX_NICS]; /* --net, in order: eth0, eth1, ... */
	int nnets;
	const char *image_dir; /* --image-dir: backing files only beneath it; NULL: anywhere */
	const char *meter;     /* --meter FILE: counters for the control plane; NULL: none */
	uint32_t cpu_mcores;   /* --cpu-limit: host milli-cores for the VM; 0: no limit */
	const char *cpu_limit_file; /* --cpu-limit-file: the limit, re-read every second */
	uint64_t max_insns;  /* per hart; 0: none */
	int engine;          /* enum engine_kind (condo/engine.h) */
	uint64_t jit_cache;  /* code cache bound per hart in bytes; 0: the default */
	uint64_t jit_hot;    /* interpreted runs before a block is compiled; 0: the default */
	bool jit_stats;      /* report the translators' counters at exit */
	struct jail_config jail; /* --no-jail, --jail-user, --jail-dir; limits 0: from the size */
	const char *net_specs[NET_MAX_NICS]; /* the --net values, for a snapshot's manifest */
	const char *control;  /* --control PATH: the control socket (docs/control.md) */
	const char *console;  /* --console PATH: the guest's console output to this file */
	const char *restore;  /* --restore DIR: resume a snapshot instead of booting */
	bool restore_verify;  /* --restore-verify: check the memory file's CRC first */
	bool engine_given;    /* --engine or --jit-* given: they override a snapshot's */
	int fork;             /* --fork N: N clones of the snapshot (with --restore) */
	const char *incoming; /* --incoming tcp:HOST:PORT|unix:PATH: wait for a migration */
	/* Set by vm_run: the boot files as absolute host paths, for a
	 * snapshot's manifest (NULL: none, or the default guest). */
	const char *kernel_path, *initrd_path, *bios_path;
};

/* Enter the jail (unless cfg->jail.disabled), build the board, boot and run until the guest powers off or resets.
 * Returns the exit status: the guest's (test finisher, poweroff = 0),
 * or VM_EXIT_* with a one-line error on stderr. */
/* --cpu-limit CORES: "0.5", "2" to milli-cores; -1 when malformed or out of
 * 0.01..1024. */
int cpulimit_parse(const char *s, uint32_t *mcores);

int vm_run(const struct vm_config *cfg);
/* --restore with --fork N: vm_run for each of N clones, in processes of
 * their own; the first non-zero status of a clone, or 0. */
int vm_fork_run(const struct vm_config *cfg);
/* condo snapshot --check: read and verify every part of the snapshot in
 * dir.  0, or -1 after a one-line error naming what is wrong. */
int vm_snapshot_check(const char *dir);
/* Live migration's addresses, tcp:HOST:PORT (or HOST:PORT) and unix:PATH:
 * a listening or a connected socket, or -1 after a one-line error. */
int migrate_listen(const char *uri);
int migrate_connect(const char *uri);

#endif
