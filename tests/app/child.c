/* Helper run by procs.c through execve: reports what it inherited. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char buf[PATH_MAX];

	if (!strcmp(mode, "args")) {
		printf("%d", argc);
		for (int i = 0; i < argc; i++)
			printf(" %s", argv[i]);
		printf("\n");
		return 3;
	}
	if (!strcmp(mode, "env")) {
		printf("FOO=%s\n", getenv("FOO") ? getenv("FOO") : "(unset)");
		return 0;
	}
	if (!strcmp(mode, "segv"))
		return *(volatile int *)8;
	if (!strcmp(mode, "exe")) {
		ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		printf("%s\n", buf);
		return 0;
	}
	if (!strcmp(mode, "cwd")) {
		printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
		return 0;
	}
	if (!strcmp(mode, "fd5"))
		return fcntl(5, F_GETFD) >= 0;
	if (!strcmp(mode, "signals")) {
		sigset_t cur;
		struct sigaction usr2, intr;
		sigprocmask(SIG_SETMASK, NULL, &cur);
		sigaction(SIGUSR2, NULL, &usr2);
		sigaction(SIGINT, NULL, &intr);
		return (sigismember(&cur, SIGUSR1) ? 1 : 0) | (usr2.sa_handler == SIG_IGN ? 2 : 0) |
		       (intr.sa_handler == SIG_DFL ? 4 : 0);
	}
	return 100;
}
