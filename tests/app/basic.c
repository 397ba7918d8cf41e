/* The process environment: argv, envp, auxv, identities, uname, clocks,
 * randomness, resource limits. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "t.h"

int main(int argc, char **argv)
{
	CHECK(argc == 4);
	CHECK(!strcmp(argv[1], "one"));
	CHECK(!strcmp(argv[2], "two words"));
	CHECK(!strcmp(argv[3], ""));
	CHECK(getenv("CONDO_TEST_VAR") && !strcmp(getenv("CONDO_TEST_VAR"), "value=with=equals"));

	/* auxv */
	CHECK(getauxval(AT_PAGESZ) == 4096);
	unsigned long hw = getauxval(AT_HWCAP);
	for (const char *c = "IMAFDC"; *c; c++)
		CHECK(hw & (1ul << (*c - 'A')));
	CHECK(getauxval(AT_RANDOM) != 0);
	CHECK(getauxval(AT_PHDR) != 0 && getauxval(AT_PHNUM) > 0);
	CHECK(getauxval(AT_PHENT) == 56);
	CHECK(getauxval(AT_ENTRY) != 0);
	CHECK(getauxval(AT_CLKTCK) == 100);
	CHECK(getauxval(AT_SECURE) == 0);
	CHECK(getauxval(AT_UID) == getuid() && getauxval(AT_EGID) == getegid());
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	CHECK(execfn && strstr(execfn, "basic"));
	/* The stack pointer is 16-byte aligned at main (psABI). */
	CHECK(((uintptr_t)__builtin_frame_address(0) & 15) == 0);

	struct utsname u;
	CHECK(uname(&u) == 0 && !strcmp(u.machine, "riscv64") && !strcmp(u.sysname, "Linux"));
	CHECK(getpid() == (pid_t)syscall(SYS_gettid));
	CHECK(getppid() > 0);

	struct timespec a, b, res;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	struct timespec nap = { 0, 2000000 };
	CHECK(nanosleep(&nap, NULL) == 0);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
	CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec));
	CHECK(clock_getres(CLOCK_REALTIME, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
	CHECK(time(NULL) > 1600000000);
	struct tms tms;
	CHECK(times(&tms) != (clock_t)-1);

	unsigned char r1[32], r2[32];
	CHECK(getrandom(r1, sizeof(r1), 0) == sizeof(r1));
	CHECK(getrandom(r2, sizeof(r2), 0) == sizeof(r2));
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);

	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 3);
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
	struct sysinfo si;
	CHECK(sysinfo(&si) == 0 && si.totalram > 0);
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);

	/* An unknown system call is ENOSYS, not a crash. */
	errno = 0;
	CHECK(syscall(4000) == -1 && errno == ENOSYS);
	return t_done();
}
