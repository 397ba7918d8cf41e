/* condo run: boot a full-system VM on the virt board. */
#include "condo/block.h"
#include "condo/engine.h"
#include "condo/log.h"
#include "condo/machine.h"
#include "condo/net.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
	"Usage: condo run [OPTIONS]\n"
	"Boot a RISC-V virtual machine (RV64GC, the virt board) on this host.\n"
	"With no --kernel, boots the default guest built by `make guest`\n"
	"(Linux 6.1 and a busybox initramfs) with a shell on the console.\n"
	"\n"
	"Options:\n"
	"  --kernel FILE         kernel: a RISC-V Linux Image or an ELF (loaded at RAM+2 MiB,\n"
	"                        or at RAM base / its ELF addresses with --bios none); with\n"
	"                        --bios none also a raw binary\n"
	"  --kernel-format raw   load the kernel as a raw binary, whatever it holds\n"
	"  --initrd FILE         initial RAM disk, described to the kernel in the device tree\n"
	"  --append STRING       kernel command line (default: \"console=ttyS0\")\n"
	"  --bios FILE|none      M-mode firmware to run first, e.g. OpenSBI's fw_jump.elf or\n"
	"                        fw_dynamic.bin (full virtualization), then the kernel (the\n"
	"                        default guest without --kernel); `none` starts the kernel\n"
	"                        itself in M-mode at RAM base (bare metal).  Without --bios,\n"
	"                        condo is the SBI and the kernel starts in S-mode\n"
	"                        (paravirtualization)\n"
	"  --mem SIZE            guest RAM, with K, M or G suffix (default 256M)\n"
	"  --cpus N              harts, 1 to 8, one host thread each (default 1)\n"
	"  --drive file=F[,format=raw|qcow2|composite|nbd][,readonly=on][,cache=C]\n"
	"        [,discard=D][,aio=A][,dirty-bitmap=FILE][,copy=on]\n"
	"                        a disk image as a virtio-blk device (repeatable); the\n"
	"                        format is probed when not given (qcow2 and composite by\n"
	"                        their magic, nbd:// and nbd+unix:// URIs).\n"
	"                        cache=writeback (default: the host page cache, a guest\n"
	"                        flush is fdatasync), none (O_DIRECT on raw images) or\n"
	"                        unsafe (a guest flush does nothing); discard=ignore\n"
	"                        (default, as QEMU: guest discards are accepted and do\n"
	"                        nothing) or unmap (they free the image's space);\n"
	"                        aio=auto (default: io_uring for raw images where the\n"
	"                        kernel allows it), threads (a thread pool) or io_uring.\n"
	"                        Requests run on each disk's I/O threads, not the vCPUs'.\n"
	"                        dirty-bitmap=FILE tracks which 64 KiB granules the guest\n"
	"                        changes, for incremental backups (docs/backup.md)\n"
	"  --net user[,hostfwd=tcp:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...[,OPTS]\n"
	"  --net switch=NAME[,OPTS]   --net tap=IFNAME[,OPTS]\n"
	"                        a virtio-net NIC (repeatable: eth0, eth1, ...).  user:\n"
	"                        NAT through libslirp, no privileges: the guest is\n"
	"                        10.0.2.15 by DHCP, 10.0.2.2 is the host's loopback,\n"
	"                        10.0.2.3 DNS; hostfwd= forwards a host port (tcp: or\n"
	"                        udp:) to the guest's.  switch=NAME: a virtual L2 switch\n"
	"                        shared with the VMs that name the same network (one\n"
	"                        isolated segment per name), started by the first and\n"
	"                        gone with the last (or run as `condo switch NAME`).\n"
	"                        tap=IFNAME: a host tap (needs CAP_NET_ADMIN).  OPTS:\n"
	"                        mac=52:54:00:XX:XX:XX, rate=BYTES/s and burst=BYTES,\n"
	"                        pps=PACKETS/s and pburst=PACKETS (token buckets, each\n"
	"                        direction on its own; k, M, G multiply by 1000).\n"
	"                        See docs/net.md\n"
	"  --image-dir DIR       every backing file of a --drive's chain must lie beneath\n"
	"                        DIR (symbolic links followed), e.g. the image store a\n"
	"                        tenant's overlays are made from\n"
	"  --max-insns N         stop after N instructions on any hart (exit status 137)\n"
	"  --cpu-limit CORES     at most this much host CPU time for the VM's harts\n"
	"                        together (0.5: half a core), held by a token bucket\n"
	"                        per hart thread\n"
	"  --cpu-limit-file FILE the limit read from FILE every second (a control plane\n"
	"                        changes it while the VM runs)\n"
	"  --meter FILE          keep cumulative counters (instructions, CPU time, disk\n"
	"                        bytes and operations, each NIC's bytes, packets and\n"
	"                        drops) in FILE, rewritten every second,\n"
	"                        for a control plane (condo/meter.h, docs/condod.md)\n"
	"  --engine E            jit (default: translate hot code to x86-64), interp\n"
	"                        (interpret only) or lockstep (run both and stop at the\n"
	"                        first difference, exit status 3)\n"
	"  --jit-cache SIZE      bound on each hart's translated-code cache (default 32M,\n"
	"                        256K to 1G); a full cache is flushed and refilled\n"
	"  --jit-threshold N     interpreted runs before a block is compiled (default 256;\n"
	"                        1 compiles all code the first time it runs)\n"
	"  --jit-stats           at exit, print what the translator compiled, the time it\n"
	"                        took and the host memory its caches hold\n"
	"  --no-jail             run outside the jail, for debugging only (the jail, on by\n"
	"                        default: namespaces, no privileges, a seccomp filter per\n"
	"                        thread, resource limits; see docs/security.md)\n"
	"  --jail-user USER|UID[:GID]\n"
	"                        started as root, become this user (default: root mapped\n"
	"                        to nobody in a user namespace of its own)\n"
	"  --jail-dir DIR        make DIR the root, holding only the VM's boot files (a\n"
	"                        private tmpfs over DIR; the host sees DIR unchanged);\n"
	"                        disks are opened before and are not in it\n"
	"  --console FILE        the guest's console output to FILE instead of the\n"
	"                        terminal (no input); with --fork, %d in FILE is the\n"
	"                        clone's number\n"
	"  --control PATH        a control socket (JSON: status, pause, resume, quit,\n"
	"                        snapshot, migrate; docs/control.md), used by\n"
	"                        `condo snapshot`, `condo migrate` and `condo control`\n"
	"  --restore DIR         resume the snapshot in DIR (`condo snapshot`) where it\n"
	"                        stopped, instead of booting: memory is mapped from the\n"
	"                        snapshot as the guest touches it.  The board, boot files\n"
	"                        and disks come from the snapshot; each --drive file=F\n"
	"                        names the new overlay (which must not exist) the\n"
	"                        snapshot's disk of that position runs on (default: a\n"
	"                        temporary one; with copy=on F is a whole copy of the\n"
	"                        frozen disk instead, on the frozen disk's own backing\n"
	"                        file, so the snapshot can go), --net gives the NICs\n"
	"                        other back ends,\n"
	"                        --engine/--jit-* override the snapshot's.  See\n"
	"                        docs/snapshot.md\n"
	"  --restore-verify      check the snapshot's memory against its CRC first\n"
	"                        (reads all of it: restoring is no longer lazy)\n"
	"  --fork N              with --restore: start N clones of the snapshot, each\n"
	"                        its own process, sharing unchanged memory pages, each\n"
	"                        with its own overlays, a new MAC and fresh entropy\n"
	"  --incoming tcp:HOST:PORT|unix:PATH\n"
	"                        wait there for a VM sent by `condo migrate`, then run it\n"
	"  -h, --help            show this help\n"
	"\n"
	"Console: the terminal is in raw mode while the guest runs; C-a x quits,\n"
	"C-a h shows the other keys.\n"
	"Exit status: the guest's (poweroff gives 0; the test finisher device\n"
	"passes the guest's own code), 1 for a bad input file, 2 for a bad\n"
	"option, 137 when --max-insns is reached (a trap counts as an instruction),\n"
	"159 when the jail stopped a forbidden system call.\n";

static int parse_drive(struct vm_config *cfg, const char *spec)
{
	char *copy, *item, *save = NULL;
	struct vm_drive d = { 0 };

	if (cfg->ndrives == VM_MAX_DRIVES) {
		log_err("run", "--drive %s: at most %d drives", spec, VM_MAX_DRIVES);
		return -1;
	}
	copy = strdup(spec);
	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int part = cli_drive_part(spec, item, &d);

		if (part < 0) {
			free(copy);
			return -1;
		} else if (part) {
			continue;
		} else if (!strncmp(item, "file=", 5) && item[5]) {
			d.file = spec + (item + 5 - copy); /* points into the argv string */
		} else if (!strncmp(item, "dirty-bitmap=", 13) && item[13]) {
			d.dirty_bitmap = spec + (item + 13 - copy);
		} else if (!strncmp(item, "format=", 7)) {
			enum block_format f;
			if (block_format_parse(item + 7, &f) < 0) {
				log_err("run", "--drive %s: unknown format '%s' (raw, qcow2, composite or nbd)", spec,
					item + 7);
				free(copy);
				return -1;
			}
			d.format = (int)f;
		} else if (!strcmp(item, "copy=on")) {
			d.copy = true;
		} else if (!strcmp(item, "readonly=on")) {
			d.readonly = true;
		} else if (!strcmp(item, "readonly=off")) {
			d.readonly = false;
		} else {
			log_err("run", "--drive %s: unknown or malformed part '%s'", spec, item);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (!d.file) {
		log_err("run", "--drive %s: needs file=PATH", spec);
		return -1;
	}
	cfg->drives[cfg->ndrives++] = d;
	return 0;
}

/* The file= and dirty-bitmap= values end at the next comma of the
 * original argument; the copies live in paths[] until the VM ends. */
static int terminate_drive_paths(struct vm_config *cfg, char **paths)
{
	for (int i = 0; i < cfg->ndrives; i++) {
		const char **value[2] = { &cfg->drives[i].file, &cfg->drives[i].dirty_bitmap };

		for (int k = 0; k < 2; k++) {
			if (!*value[k])
				continue;
			paths[2 * i + k] = strndup(*value[k], strcspn(*value[k], ","));
			if (!paths[2 * i + k])
				return -1;
			*value[k] = paths[2 * i + k];
		}
	}
	return 0;
}

/* The default guest: $CONDO_GUEST_DIR, or the `guest` link that make guest
 * keeps in the cache directory. */
static int default_guest(struct vm_config *cfg, char *kernel, char *initrd, size_t len)
{
	const char *dir = getenv("CONDO_GUEST_DIR"), *cache = getenv("CONDO_CACHE");
	const char *home = getenv("HOME");
	char buf[2048];

	if (!dir) {
		if (cache)
			snprintf(buf, sizeof(buf), "%s/guest", cache);
		else
			snprintf(buf, sizeof(buf), "%s/.cache/condo/guest", home ? home : ".");
		dir = buf;
	}
	if (strlen(dir) > 2000) {
		log_err("run", "guest directory name too long");
		return -1;
	}
	snprintf(kernel, len, "%.2000s/Image", dir);
	snprintf(initrd, len, "%.2000s/initramfs.cpio.gz", dir);
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		log_err("run", "no --kernel given and no default guest in %s (build it with `make "
			"guest`)", dir);
		return -1;
	}
	cfg->kernel = kernel;
	if (!cfg->initrd)
		cfg->initrd = initrd;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_KERNEL_FORMAT, OPT_INITRD, OPT_APPEND, OPT_BIOS, OPT_MEM, OPT_CPUS, OPT_DRIVE,
	       OPT_MAX_INSNS, OPT_ENGINE, OPT_JIT_CACHE, OPT_JIT_STATS, OPT_JIT_HOT, OPT_NO_JAIL,
	       OPT_JAIL_USER, OPT_JAIL_DIR, OPT_IMAGE_DIR, OPT_METER, OPT_CPU_LIMIT, OPT_CPU_LIMIT_FILE, OPT_NET,
	       OPT_CONSOLE, OPT_CONTROL, OPT_RESTORE, OPT_RESTORE_VERIFY, OPT_FORK, OPT_INCOMING };
	static const struct option options[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "kernel-format", required_argument, NULL, OPT_KERNEL_FORMAT },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "bios", required_argument, NULL, OPT_BIOS },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "drive", required_argument, NULL, OPT_DRIVE },
		{ "max-insns", required_argument, NULL, OPT_MAX_INSNS },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "jit-cache", required_argument, NULL, OPT_JIT_CACHE },
		{ "jit-stats", no_argument, NULL, OPT_JIT_STATS },
		{ "jit-threshold", required_argument, NULL, OPT_JIT_HOT },
		{ "no-jail", no_argument, NULL, OPT_NO_JAIL },
		{ "jail-user", required_argument, NULL, OPT_JAIL_USER },
		{ "jail-dir", required_argument, NULL, OPT_JAIL_DIR },
		{ "image-dir", required_argument, NULL, OPT_IMAGE_DIR },
		{ "meter", required_argument, NULL, OPT_METER },
		{ "cpu-limit", required_argument, NULL, OPT_CPU_LIMIT },
		{ "cpu-limit-file", required_argument, NULL, OPT_CPU_LIMIT_FILE },
		{ "net", required_argument, NULL, OPT_NET },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "restore-verify", no_argument, NULL, OPT_RESTORE_VERIFY },
		{ "fork", required_argument, NULL, OPT_FORK },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vm_config cfg = { .mem_size = 256ull << 20, .cpus = 1, .engine = ENGINE_DEFAULT };
	static char kernel[4096], initrd[4096];
	char *paths[2 * VM_MAX_DRIVES] = { 0 };
	uint64_t n;
	int opt, status;
	bool board_given = false, boot_given = false;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL: cfg.kernel = optarg; boot_given = true; break;
		case OPT_KERNEL_FORMAT:
			if (strcmp(optarg, "raw")) {
				log_err("run", "--kernel-format %s: expected raw", optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.kernel_raw = true;
			break;
		case OPT_INITRD: cfg.initrd = optarg; boot_given = true; break;
		case OPT_APPEND: cfg.append = optarg; boot_given = true; break;
		case OPT_BIOS:
			boot_given = true;
			if (!strcmp(optarg, "none"))
				cfg.bios_none = true;
			else
				cfg.bios = optarg;
			break;
		case OPT_MEM:
			if (cli_parse_size(optarg, &cfg.mem_size) < 0 || cfg.mem_size < (16ull << 20) ||
			    cfg.mem_size > (64ull << 30)) {
				log_err("run", "--mem %s: expected a size from 16M to 64G", optarg);
				return CLI_EXIT_USAGE;
			}
			board_given = true;
			break;
		case OPT_CPUS:
			if (cli_parse_u64(optarg, &n) < 0 || n < 1 || n > VM_MAX_CPUS) {
				log_err("run", "--cpus %s: expected 1 to %d", optarg, VM_MAX_CPUS);
				return CLI_EXIT_USAGE;
			}
			cfg.cpus = (int)n;
			board_given = true;
			break;
		case OPT_DRIVE:
			if (parse_drive(&cfg, optarg) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_MAX_INSNS:
			if (cli_parse_u64(optarg, &cfg.max_insns) < 0 || !cfg.max_insns) {
				log_err("run", "--max-insns %s: expected a positive number", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_ENGINE:
			cfg.engine = cli_parse_engine(optarg);
			if (cfg.engine < 0) {
				log_err("run", "--engine %s: expected interp, jit or lockstep", optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.engine_given = true;
			break;
		case OPT_JIT_CACHE:
			if (cli_parse_jit_cache(optarg, &cfg.jit_cache) < 0) {
				log_err("run", "--jit-cache %s: expected a size from 256K to 1G", optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.engine_given = true;
			break;
		case OPT_JIT_STATS: cfg.jit_stats = true; break;
		case OPT_JIT_HOT:
			if (cli_parse_jit_hot(optarg, &cfg.jit_hot) < 0) {
				log_err("run", "--jit-threshold %s: expected 1 to 1000000", optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.engine_given = true;
			break;
		case OPT_NO_JAIL: cfg.jail.disabled = true; break;
		case OPT_JAIL_USER:
			if (cli_parse_jail_user("run", optarg) < 0)
				return CLI_EXIT_USAGE;
			cfg.jail.user = optarg;
			break;
		case OPT_JAIL_DIR: cfg.jail.dir = optarg; break;
		case OPT_IMAGE_DIR: cfg.image_dir = optarg; break;
		case OPT_METER: cfg.meter = optarg; break;
		case OPT_CPU_LIMIT:
			if (cpulimit_parse(optarg, &cfg.cpu_mcores) < 0) {
				log_err("run", "--cpu-limit %s: host cores, 0.01 to 1024 (e.g. 0.5)",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_CPU_LIMIT_FILE: cfg.cpu_limit_file = optarg; break;
		case OPT_NET: {
			char err[200];
			if (cfg.nnets == NET_MAX_NICS) {
				log_err("run", "--net %s: at most %d NICs", optarg, NET_MAX_NICS);
				return CLI_EXIT_USAGE;
			}
			if (net_parse_opts(optarg, &cfg.nets[cfg.nnets], err, sizeof(err)) < 0) {
				log_err("run", "--net %s: %s", optarg, err);
				return CLI_EXIT_USAGE;
			}
			cfg.net_specs[cfg.nnets++] = optarg;
			break;
		}
		case OPT_CONSOLE: cfg.console = optarg; break;
		case OPT_CONTROL: cfg.control = optarg; break;
		case OPT_RESTORE: cfg.restore = optarg; break;
		case OPT_RESTORE_VERIFY: cfg.restore_verify = true; break;
		case OPT_INCOMING: cfg.incoming = optarg; break;
		case OPT_FORK:
			if (cli_parse_u64(optarg, &n) < 0 || n < 1 || n > 1024) {
				log_err("run", "--fork %s: expected 1 to 1024 clones", optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.fork = (int)n;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			cli_bad_option("run", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_err("run", "unexpected argument '%s' (see condo run --help)", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (cfg.jail.disabled && (cfg.jail.user || cfg.jail.dir)) {
		log_err("run", "--no-jail: --jail-user and --jail-dir need the jail");
		return CLI_EXIT_USAGE;
	}
	if ((cfg.restore || cfg.incoming) && (board_given || boot_given)) {
		log_err("run", "--%s: the board and boot files come from the VM sent; drop --mem, "
			"--cpus, --kernel, --initrd, --append and --bios",
			cfg.restore ? "restore" : "incoming");
		return CLI_EXIT_USAGE;
	}
	if (cfg.restore && cfg.incoming) {
		log_err("run", "--restore and --incoming: choose one");
		return CLI_EXIT_USAGE;
	}
	for (int i = 0; i < cfg.ndrives; i++) {
		if (cfg.drives[i].copy && !cfg.restore) {
			log_err("run", "--drive %s: copy=on needs --restore", cfg.drives[i].file);
			return CLI_EXIT_USAGE;
		}
	}
	if ((cfg.fork || cfg.restore_verify) && !cfg.restore) {
		log_err("run", "--%s needs --restore", cfg.fork ? "fork" : "restore-verify");
		return CLI_EXIT_USAGE;
	}
	if (cfg.restore || cfg.incoming) {
		status = terminate_drive_paths(&cfg, paths) < 0 ? VM_EXIT_ERROR
			 : cfg.fork	? vm_fork_run(&cfg)
					: vm_run(&cfg);
		for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
			free(paths[i]);
		return status;
	}
	if (cfg.bios_none && !cfg.kernel) {
		log_err("run", "--bios none needs --kernel");
		return CLI_EXIT_USAGE;
	}
	if (cfg.kernel_raw && !cfg.kernel) {
		log_err("run", "--kernel-format raw needs --kernel");
		return CLI_EXIT_USAGE;
	}
	/* with or without firmware, no --kernel means the default guest */
	if (!cfg.kernel && !cfg.bios_none && default_guest(&cfg, kernel, initrd, sizeof(kernel)) < 0)
		return VM_EXIT_ERROR;
	if (!cfg.append)
		cfg.append = "console=ttyS0";
	status = terminate_drive_paths(&cfg, paths) < 0 ? VM_EXIT_ERROR : vm_run(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		free(paths[i]);
	return status;
}
