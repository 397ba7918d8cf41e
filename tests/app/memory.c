/* Memory: brk, anonymous and file mappings (private and shared), munmap,
 * mprotect, mremap (as glibc's realloc uses it), madvise, MAP_FIXED and
 * MAP_FIXED_NOREPLACE, shared memory across fork, and code written at run
 * time made executable with the icache flush. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"

static sigjmp_buf jb;
static void on_segv(int sig)
{
	siglongjmp(jb, 1);
}

/* Does touching p fault? */
static int faults(volatile char *p, int write)
{
	if (sigsetjmp(jb, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	signal(SIGSEGV, on_segv);
	signal(SIGBUS, on_segv);

	/* brk */
	char *b0 = sbrk(0);
	CHECK(sbrk(3 * pg) == b0);
	memset(b0, 7, 3 * pg);
	CHECK(sbrk(-2 * pg) != (void *)-1 && sbrk(0) == b0 + pg);
	CHECK(!faults(b0, 1));

	/* anonymous mappings are zeroed; munmap makes them fault */
	char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	int zero = 1;
	for (long i = 0; i < 4 * pg; i++)
		zero &= a[i] == 0;
	CHECK(zero);
	memset(a, 0x11, 4 * pg);
	CHECK(munmap(a + pg, pg) == 0);
	CHECK(faults(a + pg, 0) && !faults(a, 1) && !faults(a + 2 * pg, 1));
	/* mprotect */
	CHECK(mprotect(a, pg, PROT_READ) == 0);
	CHECK(faults(a, 1) && !faults(a, 0));
	CHECK(mprotect(a, pg, PROT_NONE) == 0 && faults(a, 0));
	CHECK(mprotect(a, 4 * pg, PROT_READ) == -1 && errno == ENOMEM);
	/* MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses */
	char *f = mmap(a + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		       -1, 0);
	CHECK(f == a + pg && f[0] == 0 && !faults(f, 1));
	CHECK(mmap(a, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
	      MAP_FAILED && errno == EEXIST);
	CHECK(munmap(a, 4 * pg) == 0);
	CHECK(munmap(a, 4 * pg) == 0); /* unmapping nothing is fine */
	CHECK(munmap(a + 1, pg) == -1 && errno == EINVAL);

	/* madvise(MADV_DONTNEED) zeroes private anonymous memory */
	a = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 9, 2 * pg);
	CHECK(madvise(a, 2 * pg, MADV_DONTNEED) == 0 && a[0] == 0 && a[2 * pg - 1] == 0);

	/* mremap: grow, keep data, move */
	a = mremap(a, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
	CHECK(a != MAP_FAILED);
	a[63 * pg] = 3;
	memset(a, 4, pg);
	char *moved = mremap(a, 64 * pg, 128 * pg, MREMAP_MAYMOVE);
	CHECK(moved != MAP_FAILED && moved[0] == 4 && moved[63 * pg] == 3 && moved[100 * pg] == 0);
	CHECK(mremap(moved, 128 * pg, pg, 0) == moved && faults(moved + pg, 0));
	/* realloc of a large block goes through mremap */
	char *big = malloc(1 << 20);
	memset(big, 5, 1 << 20);
	big = realloc(big, 8 << 20);
	CHECK(big && big[(1 << 20) - 1] == 5);
	free(big);

	/* file mappings */
	int fd = open("/scratch/map", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 2 * pg) == 0 && pwrite(fd, "file!", 5, pg) == 5);
	char *m = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED && !memcmp(m + pg, "file!", 5));
	char *off = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, pg);
	CHECK(off != MAP_FAILED && !memcmp(off, "file!", 5));
	char *s = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED);
	memcpy(s, "shared", 6);
	CHECK(msync(s, pg, MS_SYNC) == 0);
	char buf[8] = { 0 };
	CHECK(pread(fd, buf, 6, 0) == 6 && !memcmp(buf, "shared", 6));
	/* a private writable mapping does not write the file */
	char *pv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	pv[0] = 'P';
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 's');
	/* a page wholly past the end of the file is SIGBUS */
	char *past = mmap(NULL, 4 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(past != MAP_FAILED && !faults(past + pg, 0) && faults(past + 3 * pg, 0));
	CHECK(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 12345, 0) == MAP_FAILED && errno == EBADF);
	int ro = open("/scratch/map", O_RDONLY);
	CHECK(mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED &&
	      errno == EACCES);
	close(ro);
	close(fd);

	/* MAP_SHARED anonymous memory is shared with a forked child */
	volatile int *shared = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				    -1, 0);
	volatile int *priv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	pid_t pid = fork();
	if (pid == 0) {
		*shared = 1234;
		*priv = 1234;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHECK(*shared == 1234 && *priv == 0);

	/* generated code: write, make executable, flush the icache, run */
	uint32_t *code = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	code[0] = 0x02a00513; /* li a0, 42 */
	code[1] = 0x00008067; /* ret */
	CHECK(faults((char *)code, 0) == 0);
	CHECK(mprotect(code, pg, PROT_READ | PROT_EXEC) == 0);
	__builtin___clear_cache((char *)code, (char *)(code + 2));
	CHECK(((int (*)(void))code)() == 42);
	CHECK(mprotect(code, pg, PROT_READ | PROT_WRITE) == 0);
	code[0] = 0x01100513; /* li a0, 17 */
	CHECK(mprotect(code, pg, PROT_READ | PROT_EXEC) == 0);
	__builtin___clear_cache((char *)code, (char *)(code + 2));
	CHECK(((int (*)(void))code)() == 17);
	return t_done();
}
