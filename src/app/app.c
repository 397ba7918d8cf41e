/* App mode: load a RISC-V Linux program into a fresh guest address space,
 * build its initial stack and run it, serving its system calls, until it
 * exits.  The app loop is the same for the main thread and every thread
 * the guest creates. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "condo/engine.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "condo/log.h"

static int app_fill(struct hart *hart, gva_t page, enum mem_access access, uint8_t **host)
{
	struct app_thread *t = hart->env_ctx;
	return mm_fill(&t->proc->mm, page, access, host);
}

static const struct hart_env_ops app_hart_env = { .fill = app_fill };

/* A code page was marked or written: this thread's hart acts on it at its
 * next block boundary.  Other threads' harts look at the log when they
 * next enter engine_run (after a system call or signal); a program that
 * changes code another thread is running calls riscv_flush_icache, as
 * RISC-V Linux requires, which flushes every thread's code at once. */
static void code_event(void *ctx, enum code_event what)
{
	(void)ctx;
	if (app_current && app_current->hart)
		cpu_code_event(app_current->hart, what);
}

/* "li a7, 139; ecall": the return address of every signal handler. */
static const uint32_t sigreturn_code[] = { 0x08b00893, 0x00000073 };

static void fmt_size(char *buf, size_t size, uint64_t bytes)
{
	if (bytes && bytes % (1ull << 30) == 0)
		snprintf(buf, size, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes && bytes % (1ull << 20) == 0)
		snprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes && bytes % 1024 == 0)
		snprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
}

_Noreturn void app_exit_group(struct app_thread *t, int status)
{
	struct app_proc *p = t->proc;

	if (p->cfg.jit_stats) {
		struct engine_stats sum = { 0 };

		pthread_mutex_lock(&p->lock);
		for (struct app_thread *o = p->threads; o; o = o->next)
			engine_stats_add(&sum, o->hart);
		pthread_mutex_unlock(&p->lock);
		engine_stats_print(&sum);
	}
	_exit(status & 0xff);
}

_Noreturn void app_die_limit(struct app_thread *t, const char *what)
{
	struct app_proc *p = t->proc;
	char size[32];
	if (!strcmp(what, "memory")) {
		fmt_size(size, sizeof(size), p->mm.mem_limit);
		log_err("app", "guest memory limit of %s reached (--mem)", size);
	} else {
		log_err("app", "guest instruction limit of %llu reached (--max-insns)",
			(unsigned long long)p->cfg.max_insns);
	}
	_exit(APP_EXIT_LIMIT);
}

int app_loop(struct app_thread *t)
{
	struct hart *h = t->hart;

	for (;;) {
		switch (engine_run(h)) {
		case CPU_EXIT_ECALL:
			syscall_dispatch(t);
			continue;
		case CPU_EXIT_TRAP:
			sig_fault(t, h->trap_cause, h->trap_tval);
			break;
		case CPU_EXIT_LIMIT:
			app_die_limit(t, "instructions");
		case CPU_EXIT_STOP:
			break;
		}
		if (sig_pending(t))
			sig_deliver_pending(t, false, false, 0);
	}
}

static int fail(struct app_proc *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct app_proc *p, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("app", "%s: %s", p->name, msg);
	return status;
}

/* Status for a failed open of the program, like a shell's. */
static int open_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? APP_EXIT_NOT_FOUND : APP_EXIT_CANNOT_EXEC;
}

/* Open the program (on the host, or inside the root after a guest execve)
 * and check that it may be executed. */
static int open_program(struct app_proc *p, int *fd_out)
{
	const struct app_config *c = &p->cfg;
	struct stat st;
	int fd;

	if (c->program_in_root)
		fd = fs_open(&p->fs, AT_FDCWD, c->program, O_RDONLY | O_CLOEXEC, 0);
	else if ((fd = open(c->program, O_RDONLY | O_CLOEXEC)) < 0)
		fd = -errno;
	if (fd < 0)
		return fail(p, open_status(-fd), "%s", strerror(-fd));
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		return fail(p, APP_EXIT_CANNOT_EXEC, "%s", strerror(EISDIR));
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111) ||
	    (!c->program_in_root && access(c->program, X_OK) < 0)) {
		close(fd);
		return fail(p, APP_EXIT_CANNOT_EXEC, "%s", strerror(EACCES));
	}
	*fd_out = fd;
	return 0;
}

static int map_stack_and_trampoline(struct app_proc *p, bool exec_stack, gva_t *top)
{
	struct app_mm *mm = &p->mm;
	gva_t tramp = mm->size - GUEST_PAGE_SIZE;
	gva_t stack_top = tramp;
	int err;

	err = mm_map(mm, tramp, GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE, 0, -1, 0);
	if (err)
		return err;
	memcpy(mm->host_base + tramp, sigreturn_code, sizeof(sigreturn_code));
	err = mm_protect(mm, tramp, GUEST_PAGE_SIZE, PROT_READ | PROT_EXEC);
	if (err)
		return err;
	p->sigreturn_tramp = tramp;
	err = mm_map(mm, stack_top - APP_STACK_SIZE, APP_STACK_SIZE,
		     PROT_READ | PROT_WRITE | (exec_stack ? PROT_EXEC : 0), VMA_STACK, -1, 0);
	*top = stack_top;
	return err;
}

static int load_interp(struct app_proc *p, const char *path, uint64_t *base, uint64_t *entry)
{
	struct elf_image img;
	const char *why;
	uint64_t bias;
	int err;

	int fd = fs_open(&p->fs, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return fail(p, APP_EXIT_NOT_FOUND, "interpreter %s not found in the root %s", path,
			    p->fs.root);
	if (fd < 0)
		return fail(p, APP_EXIT_CANNOT_EXEC, "interpreter %s: %s", path, strerror(-fd));
	err = elf_read(fd, &img, &why);
	if (!err && img.interp) {
		why = "it has an interpreter itself";
		err = -ENOEXEC;
	}
	if (!err)
		err = elf_choose_bias(&p->mm, &img, true, &bias, &why);
	if (!err)
		err = elf_load(&p->mm, fd, &img, bias, &why);
	close(fd);
	if (err) {
		elf_free(&img);
		if (p->mm.limit_hit)
			return -1;
		return fail(p, APP_EXIT_CANNOT_EXEC, "interpreter %s: %s", path, why);
	}
	*base = img.lo + bias;
	*entry = img.entry + bias;
	elf_free(&img);
	return 0;
}

/* The program's host path, resolved once, before the cwd moves into the
 * root: a relative PROGRAM means something else from there. */
static void set_exe_host_path(struct app_proc *p)
{
	char *real = p->cfg.program_in_root ? NULL : realpath(p->cfg.program, NULL);
	snprintf(p->exe_host_path, sizeof(p->exe_host_path), "%s", real ? real : "");
	free(real);
}

/* /proc/self/exe as the guest sees it. */
static void set_exe_paths(struct app_proc *p)
{
	const struct app_config *cfg = &p->cfg;
	if (cfg->program_in_root) {
		fs_absolute(&p->fs, AT_FDCWD, cfg->program, p->exe_guest_path,
			    sizeof(p->exe_guest_path));
		return;
	}
	if (!p->exe_host_path[0] ||
	    fs_guest_path(&p->fs, p->exe_host_path, p->exe_guest_path, sizeof(p->exe_guest_path)) < 0)
		p->exe_guest_path[0] = 0;
}

/* Load the program (and its interpreter) into a fresh address space and
 * build the initial stack.  Returns 0, or an exit status after reporting. */
static int load_program(struct app_proc *p, uint64_t *entry, gva_t *sp)
{
	const struct app_config *cfg = &p->cfg;
	struct elf_image img;
	const char *why;
	uint64_t bias, interp_base = 0;
	gva_t stack_top = 0;
	int fd = -1, status = 0, err;

	memset(&img, 0, sizeof(img));
	/* The program is found before the cwd moves into the root. */
	if (!cfg->program_in_root && (status = open_program(p, &fd)))
		return status;
	set_exe_host_path(p);
	if (fs_init(&p->fs, cfg->root, &why) < 0) {
		log_err("app", "--root %s: %s", cfg->root ? cfg->root : ".", why);
		status = 2;
		goto out;
	}
	if (cfg->program_in_root && (status = open_program(p, &fd)))
		goto out;
	if (elf_read(fd, &img, &why) < 0) {
		status = fail(p, APP_EXIT_CANNOT_EXEC, "%s", why);
		goto out;
	}
	if (mm_init(&p->mm, cfg->mem_limit) < 0) {
		status = fail(p, 1, "cannot reserve the guest address space");
		goto out;
	}
	if (map_stack_and_trampoline(p, img.exec_stack, &stack_top) < 0) {
		status = fail(p, 1, "cannot map the initial stack");
		goto out;
	}
	if (elf_choose_bias(&p->mm, &img, false, &bias, &why) < 0 ||
	    elf_load(&p->mm, fd, &img, bias, &why) < 0) {
		status = fail(p, APP_EXIT_CANNOT_EXEC, "%s", why);
		goto out;
	}
	p->mm.brk_start = p->mm.brk_cur = img.hi + bias;
	*entry = img.entry + bias;
	if (img.interp && (status = load_interp(p, img.interp, &interp_base, entry)))
		goto out;
	set_exe_paths(p);

	struct stack_info si = {
		.argc = cfg->argc,
		.argv = cfg->argv,
		.envp = cfg->envp,
		.execfn = cfg->execfn ? cfg->execfn : cfg->program,
		.phdr = img.phdr_vaddr ? img.phdr_vaddr + bias : 0,
		.phent = sizeof(Elf64_Phdr),
		.phnum = img.phnum,
		.entry = img.entry + bias,
		.base = interp_base,
		.uid = getuid(),
		.euid = geteuid(),
		.gid = getgid(),
		.egid = getegid(),
	};
	if (getrandom(si.random, sizeof(si.random), 0) != sizeof(si.random))
		memset(si.random, 0x5a, sizeof(si.random));
	err = stack_build(&p->mm, stack_top, APP_STACK_SIZE, &si, sp);
	if (err)
		status = fail(p, APP_EXIT_CANNOT_EXEC, "%s",
			      err == -E2BIG ? strerror(E2BIG) : "cannot build the initial stack");
out:
	/* Past --mem while loading: the same end as later on. */
	if (status && p->mm.limit_hit)
		app_die_limit(&(struct app_thread){ .proc = p }, "memory");
	if (fd >= 0)
		close(fd);
	elf_free(&img);
	return status;
}

/* The guest's descriptor table: the fds condo was started with, or what
 * the guest had before its execve.  Then condo's own stderr: a private
 * copy of the guest's fd 2, so that the guest closing or reusing fd 2 does
 * not make condo's reports land in one of its files. */
static int take_descriptors(struct app_proc *p)
{
	const char *why;
	if (p->cfg.state_fd) {
		if (exec_state_read(p, p->cfg.state_fd, &why) < 0) {
			log_err("app", "--x-state: %s", why);
			return 2;
		}
	} else if (fdt_adopt_inherited(&p->fds, (const int[]){ JAIL_EXE_FD }, 1) < 0) {
		log_err("app", "cannot take over the inherited descriptors");
		return 1;
	}
	struct app_file *err = fdt_get(&p->fds, 2);
	int own = err ? fcntl(err->host_fd, F_DUPFD_CLOEXEC, 3) : open("/dev/null", O_WRONLY | O_CLOEXEC);
	fdt_put(err);
	FILE *f = own >= 0 ? fdopen(own, "w") : NULL;
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		stderr = f;
	}
	return 0;
}

static void proc_free(struct app_proc *p)
{
	if (p->mm.host_base)
		mm_destroy(&p->mm);
	if (p->fs.root)
		fs_destroy(&p->fs);
	fdt_destroy(&p->fds);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The jail, between loading and running: app mode keeps the caller's uid
 * unless --jail-user (the program works on the caller's files), keeps the
 * guest's descriptors, and re-executes condo through the jail's exe fd. */
static int enter_jail(struct app_proc *p)
{
	struct jail_config jc = p->cfg.jail;

	jc.self_exec = true;
	jc.keep_uid = true;
	jc.kinds = 1u << JAIL_APP;
	if (!jc.as_limit) /* the guest's reservation and room for condo's threads */
		jc.as_limit = p->mm.size + (16ull << 30);
	if (!jc.nproc)
		jc.nproc = 4096;
	if (!jc.pids_max)
		jc.pids_max = 4096;
	if (jail_enter(&p->jail, &jc, NULL, 0) < 0 || jail_lockdown(&p->jail) < 0 ||
	    jail_thread(&p->jail, JAIL_APP) < 0)
		return -1;
	return 0; /* the exe fd is condo's: guest descriptors index the fd table */
}

int app_run(const struct app_config *cfg)
{
	struct app_proc *p = calloc(1, sizeof(*p));
	uint64_t entry = 0;
	gva_t sp = 0;
	int status;

	if (!p)
		return 1;
	p->cfg = *cfg;
	p->name = cfg->program;
	p->trace = cfg->trace_syscalls;
	pthread_mutex_init(&p->lock, NULL);
	fdt_init(&p->fds);
	proc_init_rlimits(p);
	if ((status = take_descriptors(p))) {
		proc_free(p);
		return status;
	}
	status = load_program(p, &entry, &sp);
	if (!status && enter_jail(p) < 0)
		status = 1;
	if (status) {
		proc_free(p);
		return status;
	}

	struct hart *h = hart_new(&app_hart_env, NULL);
	struct app_thread *t = NULL;

	if (h && engine_setup_hart(h, cfg->engine, cfg->jit_cache, cfg->jit_hot) == 0)
		t = thread_new(p, h);
	if (!t) {
		status = fail(p, 1, "out of memory");
		if (h)
			hart_free(h);
		proc_free(p);
		return status;
	}
	h->pc = entry;
	h->x[2] = sp;
	h->tlb_generation = &p->mm.map_generation;
	h->code_generation = &p->mm.code_generation;
	p->mm.code.notify = code_event;
	h->flat_addend = (uintptr_t)p->mm.host_base; /* mm_fill: host_base + page */
	h->mem_direct = &p->mm.direct;
	h->mem_size = p->mm.size;
	cpu_set_code_map(h, &p->mm.code);
	h->insn_limit = cfg->max_insns ? cfg->max_insns : UINT64_MAX;
	t->tid = gettid();
	app_current = t;
	sig_init_proc(p);
	/* The mask is inherited across execve, like Linux. */
	t->blocked = sig_host_mask();
	sig_set_host_mask(t->blocked); /* less SIGSEGV and SIGBUS */
	app_loop(t);
	return 0; /* not reached: the guest leaves through exit_group */
}

