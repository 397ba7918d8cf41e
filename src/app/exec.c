/* execve(2) for the guest.  The target is resolved inside the root and
 * checked here (so a bad target is an error return, as on Linux), "#!"
 * scripts are followed to their interpreter (fs/binfmt_script.c rules),
 * and then condo re-executes itself on the resolved program with the same
 * options: the host kernel then closes close-on-exec fds, resets handled
 * signals, keeps ignored ones and the mask, and ends the other threads. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "condo/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_MAX_TOTAL (2u << 20)    /* argv + envp bytes */
#define ARG_MAX_STRLEN (128u << 10) /* one string, MAX_ARG_STRLEN */
#define ARG_MAX_COUNT (1u << 17)
#define SCRIPT_DEPTH 4              /* BINPRM_MAX_RECURSION */
#define SCRIPT_LINE 256             /* BINPRM_BUF_SIZE */

struct strvec {
	char **v;
	size_t n, cap;
	size_t bytes;
};

static int vec_push(struct strvec *s, char *str)
{
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

/* "OPTION VALUE" for a numeric option that is set (non-zero). */
static void push_number(struct strvec *s, const char *option, uint64_t value)
{
	char num[32];

	if (!value)
		return;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	vec_push(s, strdup(option));
	vec_push(s, strdup(num));
}

static void vec_free(struct strvec *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Copy a NULL-terminated guest array of strings.  The bounce buffer is
 * taken per exec, not a thread-local array: 128 KiB of TLS is zeroed for
 * every thread of every condo process (hart threads included), 32 page
 * faults each before the thread runs. */
static int copy_strings(struct app_mm *mm, gva_t array, struct strvec *out, size_t *total)
{
	char *buf;
	int err = 0;

	if (!array)
		return 0; /* NULL argv or envp: empty, as Linux accepts */
	buf = malloc(ARG_MAX_STRLEN);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0;; i++) {
		uint64_t ptr;
		if (i >= ARG_MAX_COUNT) {
			err = -E2BIG;
			break;
		}
		if ((err = mm_read(mm, &ptr, array + i * 8, 8)) || !ptr)
			break;
		err = mm_strcpy(mm, buf, ptr, ARG_MAX_STRLEN);
		if (err) {
			err = err == -ENAMETOOLONG ? -E2BIG : err;
			break;
		}
		size_t len = strlen(buf) + 1;
		*total += len;
		if (*total > ARG_MAX_TOTAL) {
			err = -E2BIG;
			break;
		}
		char *s = strdup(buf);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		if ((err = vec_push(out, s))) {
			free(s);
			break;
		}
	}
	free(buf);
	return err;
}

/* Parse "#!interp [arg]" from the first line; false when not a script. */
static int parse_script(const char *buf, size_t n, char *interp, size_t isize, char *arg,
			size_t asize, bool *has_arg)
{
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return 1;
	const char *end = memchr(buf, '\n', n);
	size_t len = end ? (size_t)(end - buf) : n;
	const char *p = buf + 2, *e = buf + len;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	const char *i0 = p;
	while (p < e && *p != ' ' && *p != '\t' && *p)
		p++;
	if (p == i0)
		return -ENOEXEC;
	if (!end && p == e && n == SCRIPT_LINE)
		return -ENOEXEC; /* interpreter name cut off */
	if ((size_t)(p - i0) >= isize)
		return -ENAMETOOLONG;
	memcpy(interp, i0, p - i0);
	interp[p - i0] = 0;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == 0))
		e--;
	*has_arg = e > p;
	if (*has_arg) {
		if ((size_t)(e - p) >= asize)
			return -E2BIG;
		memcpy(arg, p, e - p);
		arg[e - p] = 0;
	}
	return 0;
}

/* Can the guest execute the file open on fd? 0 or -errno. */
static int check_exec(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0)
		return -EACCES;
	if (!(st.st_mode & 0111))
		return -EACCES; /* root passes access(X_OK) only when some x bit is set */
	return 0;
}

/* Is the ELF on fd runnable here?  Maps the reasons to execve errnos. */
static int check_elf(struct app_thread *t, int fd)
{
	struct elf_image img, interp;
	const char *why;
	int err = elf_read(fd, &img, &why);
	if (err) {
		elf_free(&img);
		return err == -ENOMEM ? -ENOMEM : -ENOEXEC;
	}
	if (img.interp) {
		int ifd = fs_open(t_fs(t), AT_FDCWD, img.interp, O_RDONLY | O_CLOEXEC, 0);
		if (ifd < 0) {
			elf_free(&img);
			return ifd;
		}
		err = elf_read(ifd, &interp, &why);
		close(ifd);
		if (!err && interp.interp)
			err = -ELIBBAD;
		elf_free(&interp);
		if (err)
			err = -ELIBBAD;
	}
	elf_free(&img);
	return err;
}

int64_t exec_guest(struct app_thread *t, gva_t path_addr, gva_t argv_addr, gva_t envp_addr)
{
	struct app_proc *p = t->proc;
	struct strvec args = { 0 }, env = { 0 }, host = { 0 };
	char path[APP_PATH_MAX], abs[APP_PATH_MAX], execfn[APP_PATH_MAX];
	char interp[SCRIPT_LINE], arg[SCRIPT_LINE];
	size_t total = 0;
	int err;

	err = mm_strcpy(&p->mm, path, path_addr, sizeof(path));
	if (err)
		return err;
	if (!path[0])
		return -ENOENT;
	strcpy(execfn, path);
	if ((err = copy_strings(&p->mm, argv_addr, &args, &total)) ||
	    (err = copy_strings(&p->mm, envp_addr, &env, &total)))
		goto out;

	/* /proc/self/exe is the running program, wherever it lives. */
	bool host_exe = false;
	if (!strcmp(path, "/proc/self/exe")) {
		if (p->exe_guest_path[0])
			snprintf(path, sizeof(path), "%s", p->exe_guest_path);
		else
			host_exe = true;
	}
	for (int depth = 0; !host_exe; depth++) {
		int fd = fs_open(&p->fs, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0) {
			err = fd == -ELOOP && depth ? -ELOOP : fd;
			goto out;
		}
		char buf[SCRIPT_LINE];
		ssize_t n;
		err = check_exec(fd);
		if (!err) {
			n = pread(fd, buf, sizeof(buf), 0);
			if (n < 0)
				err = -errno;
		}
		if (err) {
			close(fd);
			goto out;
		}
		bool has_arg = false;
		err = parse_script(buf, (size_t)n, interp, sizeof(interp), arg, sizeof(arg),
				   &has_arg);
		if (err == 1) {
			/* Not a script: it must be a RISC-V ELF we can run. */
			err = check_elf(t, fd);
			close(fd);
			if (err)
				goto out;
			break;
		}
		close(fd);
		if (err)
			goto out;
		if (depth >= SCRIPT_DEPTH) {
			err = -ELOOP;
			goto out;
		}
		/* argv becomes: interp [arg] script argv[1..] */
		struct strvec nargs = { 0 };
		char *a0 = strdup(interp), *a1 = has_arg ? strdup(arg) : NULL, *a2 = strdup(path);
		if (!a0 || (has_arg && !a1) || !a2 || vec_push(&nargs, a0) ||
		    (has_arg && vec_push(&nargs, a1)) || vec_push(&nargs, a2)) {
			free(a0), free(a1), free(a2);
			vec_free(&nargs);
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 1; i < args.n; i++) {
			vec_push(&nargs, args.v[i]);
			args.v[i] = NULL;
		}
		vec_free(&args);
		args = nargs;
		snprintf(path, sizeof(path), "%s", interp);
	}

	/* The resolved program as an absolute guest path: condo resolves it in
	 * the root again after re-executing. */
	if (host_exe)
		snprintf(abs, sizeof(abs), "%s", p->exe_host_path);
	else if ((err = fs_absolute(&p->fs, AT_FDCWD, path, abs, sizeof(abs))))
		goto out;

	const struct app_config *c = &p->cfg;
	const char *fixed[] = { "condo", "app", "--root", p->fs.root };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		vec_push(&host, strdup(fixed[i]));
	push_number(&host, "--mem", c->mem_limit);
	push_number(&host, "--max-insns", c->max_insns);
	if (c->trace_syscalls)
		vec_push(&host, strdup("--trace-syscalls"));
	vec_push(&host, strdup("--engine"));
	vec_push(&host, strdup(engine_name(c->engine)));
	push_number(&host, "--jit-cache", c->jit_cache);
	push_number(&host, "--jit-threshold", c->jit_hot);
	if (c->jit_stats)
		vec_push(&host, strdup("--jit-stats"));
	if (c->forked_child)
		vec_push(&host, strdup("--x-child"));
	if (c->jail.disabled)
		vec_push(&host, strdup("--no-jail"));
	vec_push(&host, strdup(host_exe ? "--x-exec-host" : "--x-exec"));
	vec_push(&host, strdup(abs));
	vec_push(&host, strdup("--x-execfn"));
	vec_push(&host, strdup(execfn));
	/* The guest's environment and descriptors travel in a memfd
	 * (exec_state.c): not in condo's own environment, where the host
	 * dynamic linker would act on a guest's LD_PRELOAD, and not as
	 * arguments, which every host user can read. */
	struct exec_state state;
	if ((err = exec_state_write(p, env.v, env.n, &state)))
		goto out;
	char state_arg[16];
	snprintf(state_arg, sizeof(state_arg), "%d", state.fd);
	vec_push(&host, strdup("--x-state"));
	vec_push(&host, strdup(state_arg));
	vec_push(&host, strdup("--"));
	for (size_t i = 0; i < args.n; i++)
		vec_push(&host, strdup(args.v[i]));
	for (size_t i = 0; i < host.n; i++)
		if (!host.v[i])
			err = -ENOMEM;
	if (p->trace)
		fprintf(stderr, "[%d] execve: %s\n", t->tid, abs);
	/* condo's own settings are all it keeps of the host environment. */
	const char *log = getenv("CONDO_LOG");
	char log_var[64];
	char *host_env[2] = { NULL, NULL };
	if (log && strlen(log) < 32) {
		snprintf(log_var, sizeof(log_var), "CONDO_LOG=%s", log);
		host_env[0] = log_var;
	}
	/* The host keeps the mask across execve, and the new condo reads the
	 * guest's from it: with SIGSEGV and SIGBUS too, which condo otherwise
	 * never blocks on the host (signal.c). */
	if (!err)
		sig_set_host_mask_exact(t->blocked);
	if (!err && p->jail.active) {
		/* The only exec the jail allows: condo itself, opened at start. */
		err = jail_check_exe(&p->jail);
		if (!err)
			syscall(SYS_execveat, p->jail.exe_fd, "", host.v, host_env, AT_EMPTY_PATH);
		err = err ? err : -errno;
	} else if (!err) {
		syscall(SYS_execve, "/proc/self/exe", host.v, host_env);
		err = -errno;
	}
	sig_set_host_mask(t->blocked);
	exec_state_undo(&state);
out:
	vec_free(&args);
	vec_free(&env);
	vec_free(&host);
	return err;
}
