/* Processes: fork and wait statuses (exit, killed, faulted), execve of ELF
 * programs and "#!" scripts inside the root with argv/envp/cwd, what
 * execve keeps and resets (close-on-exec, masks, dispositions), execve
 * errors, posix_spawn, vfork, waitid, SIGCHLD and SIGPIPE.  Needs
 * /bin/child (child.c) in the root and an empty /scratch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"

extern char **environ;

/* Run /bin/child with args in a child; return its exit status and put its
 * stdout in out. */
static int run_child(char *const argv[], char *const envp[], char *out, size_t size)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execve(argv[0], argv, envp);
		_exit(99);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < size - 1 && (n = read(p[0], out + got, size - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static volatile sig_atomic_t chld_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	chld_pid = si->si_pid;
}

int main(void)
{
	char out[4096];
	int st;
	pid_t pid;

	/* exit statuses */
	pid = fork();
	if (pid == 0)
		_exit(42);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42);
	pid = fork();
	if (pid == 0) {
		CHECK(getppid() > 1);
		pause();
		_exit(0);
	}
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	/* a child that faults dies by the signal, as its parent sees it */
	pid = fork();
	if (pid == 0) {
		*(volatile int *)0 = 1;
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);

	/* execve: argv, envp, status */
	char *args[] = { "/bin/child", "args", "a b", "", NULL };
	CHECK(run_child(args, environ, out, sizeof(out)) == 3);
	CHECK(!strcmp(out, "4 /bin/child args a b \n"));
	char *envargs[] = { "/bin/child", "env", NULL };
	char *env[] = { "FOO=bar baz", NULL };
	CHECK(run_child(envargs, env, out, sizeof(out)) == 0 && !strcmp(out, "FOO=bar baz\n"));
	/* the guest's environment is the guest's: condo itself, on the host,
	 * does not see this LD_PRELOAD when execve starts it again */
	char *preload[] = { "LD_PRELOAD=/nonexistent/condo-evil.so", "FOO=preload", NULL };
	CHECK(run_child(envargs, preload, out, sizeof(out)) == 0 && !strcmp(out, "FOO=preload\n"));
	char *exeargs[] = { "/bin/child", "exe", NULL };
	CHECK(run_child(exeargs, environ, out, sizeof(out)) == 0 && !strcmp(out, "/bin/child\n"));
	/* relative paths resolve against the cwd, which execve keeps */
	CHECK(chdir("/bin") == 0);
	char *relargs[] = { "./child", "cwd", NULL };
	CHECK(run_child(relargs, environ, out, sizeof(out)) == 0 && !strcmp(out, "/bin\n"));
	CHECK(chdir("/scratch") == 0);
	char *segv[] = { "/bin/child", "segv", NULL };
	CHECK(run_child(segv, environ, out, sizeof(out)) == 128 + SIGSEGV);

	/* execve errors come back to the caller */
	char *none[] = { "x", NULL };
	CHECK(execve("/bin/nope", none, environ) == -1 && errno == ENOENT);
	CHECK(execve("/bin", none, environ) == -1 && errno == EACCES);
	int fd = open("/scratch/plain", O_CREAT | O_WRONLY, 0644);
	write(fd, "data\n", 5);
	close(fd);
	CHECK(execve("/scratch/plain", none, environ) == -1 && errno == EACCES);
	CHECK(chmod("/scratch/plain", 0755) == 0);
	CHECK(execve("/scratch/plain", none, environ) == -1 && errno == ENOEXEC);

	/* "#!" scripts: interpreter, its argument, the script, the arguments */
	fd = open("/scratch/s.sh", O_CREAT | O_WRONLY, 0755);
	const char *script = "#!  /bin/child  args  \nignored\n";
	write(fd, script, strlen(script));
	close(fd);
	CHECK(run_child((char *[]){ "/scratch/s.sh", "x y", NULL }, environ, out, sizeof(out)) == 3);
	CHECK(!strcmp(out, "4 /bin/child args /scratch/s.sh x y\n"));
	fd = open("/scratch/bad.sh", O_CREAT | O_WRONLY, 0755);
	write(fd, "#!/bin/missing\n", 15);
	close(fd);
	CHECK(execve("/scratch/bad.sh", none, environ) == -1 && errno == ENOENT);

	/* close-on-exec is honoured */
	fd = open("/scratch/plain", O_RDONLY);
	dup3(fd, 5, O_CLOEXEC);
	char *fdargs[] = { "/bin/child", "fd5", NULL };
	CHECK(run_child(fdargs, environ, out, sizeof(out)) == 0);
	dup3(fd, 5, 0);
	CHECK(run_child(fdargs, environ, out, sizeof(out)) == 1);
	close(5);
	close(fd);

	/* the mask and ignored signals survive execve, handlers do not */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGUSR2, SIG_IGN);
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_chld;
	signal(SIGINT, (void (*)(int))on_chld);
	char *sigargs[] = { "/bin/child", "signals", NULL };
	CHECK(run_child(sigargs, environ, out, sizeof(out)) == 7);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGINT, SIG_DFL);

	/* posix_spawn and vfork */
	CHECK(posix_spawn(&pid, "/bin/child", NULL, NULL, args, environ) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3);
	pid = vfork();
	if (pid == 0) {
		execve("/bin/child", envargs, env);
		_exit(99);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 0);

	/* waitid and SIGCHLD with the child's pid */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid == 0)
		_exit(5);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, pid, &si, WEXITED) == 0);
	CHECK(si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 5);
	while (!chld_pid)
		usleep(1000);
	CHECK(chld_pid == pid);
	signal(SIGCHLD, SIG_DFL);

	/* SIGPIPE: default kills, SIG_IGN gives EPIPE */
	int p[2];
	pipe(p);
	close(p[0]);
	pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
	close(p[1]);

	/* a lot of data through a pipe from a child */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		static char big[65536];
		memset(big, 'z', sizeof(big));
		for (int i = 0; i < 16; i++)
			write(p[1], big, sizeof(big));
		_exit(0);
	}
	close(p[1]);
	long total = 0;
	ssize_t n;
	while ((n = read(p[0], out, sizeof(out))) > 0)
		total += n;
	CHECK(total == 16 * 65536);
	waitpid(pid, &st, 0);
	return t_done();
}
