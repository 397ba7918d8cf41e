/* Unit tests for the jail: each test forks a child that enters the real
 * jail (jail_enter, jail_lockdown, the filters of one thread kind), then
 * does one thing; the parent checks how the child ended and what it wrote.
 * A forbidden call must end the child with status 159 and one line naming
 * the call; an allowed one must work. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "condo/jail.h"
#include "jail/jail_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct outcome {
	int status;	/* from waitpid */
	char err[1024]; /* the child's stderr */
};

/* Fork; in the child, enter the jail with cfg, load the filters of kinds
 * (the VM's main thread first, as condo run does), run body and exit 0. */
static void run_jailed(const struct jail_config *cfg, const enum jail_kind *kinds, int nkinds,
		       void (*body)(void), struct outcome *o)
{
	int pipefd[2];
	pid_t pid;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jail j;
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (jail_enter(&j, cfg, NULL, 0) < 0 || jail_lockdown(&j) < 0)
			_exit(90);
		for (int i = 0; i < nkinds; i++)
			if (jail_thread(&j, kinds[i]) < 0)
				_exit(91);
		body();
		_exit(0);
	}
	close(pipefd[1]);
	size_t n = 0;
	ssize_t got;
	while ((got = read(pipefd[0], o->err + n, sizeof(o->err) - 1 - n)) > 0)
		n += (size_t)got;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static const enum jail_kind app[] = {JAIL_APP};
static const enum jail_kind hart[] = {JAIL_VMM, JAIL_VM_HART};
#define APP_KINDS (1u << JAIL_APP)
#define VM_KINDS  (1u << JAIL_VMM | 1u << JAIL_VM_IO | 1u << JAIL_VM_HART)
static const struct jail_config app_cfg = {.keep_uid = true, .self_exec = true, .kinds = APP_KINDS};
static const struct jail_config vm_cfg = {.keep_uid = true, .kinds = VM_KINDS};

static void assert_killed_for(const struct outcome *o, const char *call)
{
	char want[64];

	snprintf(want, sizeof(want), "forbidden system call %s (", call);
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != JAIL_EXIT_SYSCALL ||
	    !strstr(o->err, want))
		fail_msg("expected exit 159 naming %s; status %#x, stderr: %s", call, o->status,
			 o->err);
}

static void assert_clean_exit(const struct outcome *o)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0)
		fail_msg("expected exit 0; status %#x, stderr: %s", o->status, o->err);
}

static void do_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void test_ptrace_kills_an_app_thread(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_ptrace, &o);
	assert_killed_for(&o, "ptrace");
}

static void do_mount(void)
{
	mount("none", "/tmp", "tmpfs", 0, NULL);
}

static void test_mount_kills_a_hart_and_an_app_thread(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&vm_cfg, hart, 2, do_mount, &o);
	assert_killed_for(&o, "mount");
	assert_non_null(strstr(o.err, "in a hart thread"));
	run_jailed(&app_cfg, app, 1, do_mount, &o);
	assert_killed_for(&o, "mount");
}

static void do_mknod_device(void)
{
	/* /dev/kmsg's numbers: issue 9's device-node attack */
	mknodat(AT_FDCWD, "/tmp/condo-test-jail-kmsg", S_IFCHR | 0600, makedev(1, 11));
}

static void test_mknod_of_a_device_kills(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_mknod_device, &o);
	assert_killed_for(&o, "mknodat");
}

static void do_mkfifo(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/condo-test-jail-fifo-%d", (int)getpid());
	if (mknodat(AT_FDCWD, path, S_IFIFO | 0600, 0) < 0)
		_exit(1);
	unlinkat(AT_FDCWD, path, 0);
}

static void test_mknod_of_a_fifo_is_allowed(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_mkfifo, &o);
	assert_clean_exit(&o);
}

static void do_execve(void)
{
	char *argv[] = {"true", NULL};
	execve("/bin/true", argv, argv + 1);
}

static void do_execveat_other_fd(void)
{
	char *argv[] = {"true", NULL};
	int fd = open("/bin/true", O_PATH | O_CLOEXEC);
	syscall(SYS_execveat, fd, "", argv, argv + 1, AT_EMPTY_PATH);
}

static void test_exec_other_than_condo_kills(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_execve, &o);
	assert_killed_for(&o, "execve");
	run_jailed(&app_cfg, app, 1, do_execveat_other_fd, &o);
	assert_killed_for(&o, "execveat");
}

static void do_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
}

static void test_fork_kills_a_hart_thread(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&vm_cfg, hart, 2, do_fork, &o);
	assert_killed_for(&o, "clone");
}

static void do_clone3(void)
{
	uint64_t args[11] = {0};
	long r = syscall(SYS_clone3, args, sizeof(args));
	if (r == 0)
		_exit(0);
	_exit(r < 0 && errno == ENOSYS ? 0 : 1);
}

static void test_clone3_answers_enosys(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_clone3, &o);
	assert_clean_exit(&o);
}

static void do_tiocsti(void)
{
	char c = 'x';
	ioctl(STDIN_FILENO, TIOCSTI, &c);
}

static void test_tiocsti_kills(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_tiocsti, &o);
	assert_killed_for(&o, "ioctl");
}

static void do_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void test_socket_kills(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_socket, &o);
	assert_killed_for(&o, "socket");
}

static void do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void test_making_memory_executable_kills(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_mprotect_exec, &o);
	assert_killed_for(&o, "mprotect");
}

static void do_kill_other(void)
{
	if (kill(getpid(), 0) < 0) /* itself: allowed */
		_exit(1);
	kill(1, 0);
}

static void test_vm_signals_only_itself(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&vm_cfg, hart, 2, do_kill_other, &o);
	assert_killed_for(&o, "kill");
}

/* "Name:\tvalue" from /proc/self/status. */
static int status_field(const char *name, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t len = strlen(name);
	int found = -1;

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			char *v = line + len + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			for (size_t e = strlen(v); e && v[e - 1] == ' ';)
				v[--e] = 0;
			snprintf(out, size, "%s", v);
			found = 0;
		}
	fclose(f);
	return found;
}

static void expect_field(const char *name, const char *want)
{
	char got[128];
	if (status_field(name, got, sizeof(got)) < 0 || strcmp(got, want)) {
		fprintf(stderr, "%s is '%s', expected '%s'\n", name, got, want);
		_exit(2);
	}
}

static void do_check_status(void)
{
	expect_field("NoNewPrivs", "1");
	expect_field("Seccomp", "2");
	expect_field("CapEff", "0000000000000000");
	expect_field("CapPrm", "0000000000000000");
	expect_field("CapInh", "0000000000000000");
	expect_field("CapAmb", "0000000000000000");
	expect_field("CapBnd", "0000000000000000");
}

static void test_no_new_privs_and_no_capabilities(void **state)
{
	struct outcome o;
	(void)state;
	run_jailed(&app_cfg, app, 1, do_check_status, &o);
	assert_clean_exit(&o);
	run_jailed(&vm_cfg, hart, 2, do_check_status, &o);
	if (SANITIZED)
		assert_clean_exit(&o); /* the sanitizers may open files anywhere */
	else
		assert_killed_for(&o, "openat"); /* a hart opens no file */
}

static void do_check_nobody(void)
{
	expect_field("Uid", "65534\t65534\t65534\t65534");
	expect_field("Gid", "65534\t65534\t65534\t65534");
	expect_field("Groups", "65534");
	expect_field("CapEff", "0000000000000000");
	expect_field("CapBnd", "0000000000000000");
}

static void test_jail_user_drops_to_that_uid(void **state)
{
	const struct jail_config cfg = {.user = "65534:65534", .kinds = APP_KINDS};
	struct outcome o;
	(void)state;
	if (geteuid() != 0) {
		print_message("SKIP: --jail-user needs the tests to run as root\n");
		skip();
	}
	run_jailed(&cfg, app, 1, do_check_nobody, &o);
	assert_clean_exit(&o);
}

static void do_check_limits(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 100 || rl.rlim_max != 100)
		_exit(3);
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_max != 0)
		_exit(4);
	if (!SANITIZED && (getrlimit(RLIMIT_AS, &rl) < 0 || rl.rlim_cur != (8ull << 30)))
		_exit(5);
}

static void test_rlimits_are_applied(void **state)
{
	const struct jail_config cfg = {
	    .keep_uid = true, .nofile = 100, .as_limit = 8ull << 30, .kinds = APP_KINDS};
	struct outcome o;
	(void)state;
	run_jailed(&cfg, app, 1, do_check_limits, &o);
	assert_clean_exit(&o);
}

static void do_check_unjailed(void)
{
	expect_field("Seccomp", "0");
	expect_field("NoNewPrivs", "0");
	if (jail_inherited())
		_exit(6);
}

static void test_no_jail_changes_nothing(void **state)
{
	const struct jail_config cfg = {.disabled = true};
	struct outcome o;
	(void)state;
	run_jailed(&cfg, app, 1, do_check_unjailed, &o);
	assert_clean_exit(&o);
}

static void test_parse_user(void **state)
{
	uid_t uid;
	gid_t gid;
	(void)state;
	assert_int_equal(jail_parse_user("1234", &uid, &gid), 0);
	assert_int_equal(uid, 1234);
	assert_int_equal(gid, 1234);
	assert_int_equal(jail_parse_user("1234:99", &uid, &gid), 0);
	assert_int_equal(uid, 1234);
	assert_int_equal(gid, 99);
	assert_int_equal(jail_parse_user("root", &uid, &gid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(jail_parse_user("", &uid, &gid), -EINVAL);
	assert_int_equal(jail_parse_user("12:", &uid, &gid), -EINVAL);
	assert_int_equal(jail_parse_user("12:x", &uid, &gid), -EINVAL);
	assert_int_equal(jail_parse_user("12x", &uid, &gid), -EINVAL);
	assert_int_equal(jail_parse_user("4294967295", &uid, &gid), -EINVAL);
	assert_int_equal(jail_parse_user("no-such-user-here", &uid, &gid), -EINVAL);
}

/* The programs built into condo (generated when it was built, the pid put
 * in at start) are what libseccomp makes from the rules for that pid. */
static void test_builtin_programs_match_the_rules(void **state)
{
	const uint32_t pids[] = { (uint32_t)getpid(), 2, 4194303 };
	(void)state;
	for (int k = 0; k < JAIL_NKINDS; k++) {
		for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
			struct sock_filter *built, *fresh;
			unsigned short nbuilt, nfresh;
			assert_int_equal(jail_prog_for((enum jail_kind)k, pids[i], &built, &nbuilt), 0);
			assert_int_equal(jail_rules_generate((enum jail_kind)k, pids[i], &fresh, &nfresh),
					 0);
			assert_int_equal(nbuilt, nfresh);
			assert_memory_equal(built, fresh, nbuilt * sizeof(*built));
			free(built);
			free(fresh);
		}
	}
	for (int nr = 0; nr < JAIL_NAMES; nr++) {
		char *name = jail_rules_call_name(nr);
		if (name)
			assert_string_equal(jail_call_names[nr], name);
		else
			assert_null(jail_call_names[nr]);
		free(name);
	}
	assert_string_equal(jail_call_names[SYS_mount], "mount");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ptrace_kills_an_app_thread),
	    cmocka_unit_test(test_mount_kills_a_hart_and_an_app_thread),
	    cmocka_unit_test(test_mknod_of_a_device_kills),
	    cmocka_unit_test(test_mknod_of_a_fifo_is_allowed),
	    cmocka_unit_test(test_exec_other_than_condo_kills),
	    cmocka_unit_test(test_fork_kills_a_hart_thread),
	    cmocka_unit_test(test_clone3_answers_enosys),
	    cmocka_unit_test(test_tiocsti_kills),
	    cmocka_unit_test(test_socket_kills),
	    cmocka_unit_test(test_making_memory_executable_kills),
	    cmocka_unit_test(test_vm_signals_only_itself),
	    cmocka_unit_test(test_no_new_privs_and_no_capabilities),
	    cmocka_unit_test(test_jail_user_drops_to_that_uid),
	    cmocka_unit_test(test_rlimits_are_applied),
	    cmocka_unit_test(test_no_jail_changes_nothing),
	    cmocka_unit_test(test_parse_user),
	    cmocka_unit_test(test_builtin_programs_match_the_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
