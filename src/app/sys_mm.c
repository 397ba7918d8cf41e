/* Memory system calls: thin wrappers around mm.c.  The dispatcher notices
 * that mappings changed (mm->map_generation) and makes every hart flush its
 * TLB; mm.c bumps the code generation when executable mappings change. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

SYS(brk)
{
	return (int64_t)mm_brk(t_mm(t), a[0]);
}

SYS(mmap)
{
	int flags = (int)a[3];

	if (flags & MAP_ANONYMOUS)
		return mm_mmap(t_mm(t), a[0], a[1], (int)a[2], flags, -1, a[5]);
	FD_ARG(fd, a[4]);
	return mm_mmap(t_mm(t), a[0], a[1], (int)a[2], flags, fd, a[5]);
}

SYS(munmap)
{
	return mm_unmap(t_mm(t), a[0], a[1]);
}

SYS(mprotect)
{
	return mm_protect(t_mm(t), a[0], a[1], (int)a[2]);
}

SYS(mremap)
{
	return mm_remap(t_mm(t), a[0], a[1], a[2], (int)a[3], a[4]);
}

SYS(madvise)
{
	return mm_advise(t_mm(t), a[0], a[1], (int)a[2]);
}

SYS(msync)
{
	struct app_mm *mm = t_mm(t);
	if (a[0] & ~GUEST_PAGE_MASK)
		return -EINVAL;
	uint64_t len = page_up(a[1]);
	if (!len)
		return 0;
	if (!mm_ptr(mm, a[0], len, 0))
		return -ENOMEM;
	/* Shared file pages live in the host mapping: sync that. */
	return msync(mm->host_base + a[0], len, (int)a[2]) < 0 ? -errno : 0;
}

static int64_t range_mapped(struct app_thread *t, gva_t addr, uint64_t len)
{
	gva_t start = page_down(addr);
	len = page_up(addr + len) - start;
	return !len || mm_ptr(t_mm(t), start, len, 0) ? 0 : -ENOMEM;
}

/* Nothing is ever paged out: locking succeeds once the range is mapped. */
SYS(mlock)
{
	return range_mapped(t, a[0], a[1]);
}
SYS(munlock)
{
	return range_mapped(t, a[0], a[1]);
}
SYS(mlockall)
{
	return 0;
}
SYS(munlockall)
{
	return 0;
}

SYS(mincore)
{
	if (a[0] & ~GUEST_PAGE_MASK)
		return -EINVAL;
	uint64_t pages = page_up(a[1]) / GUEST_PAGE_SIZE;
	if (range_mapped(t, a[0], a[1]))
		return -ENOMEM;
	/* Everything is resident as far as the guest knows. */
	uint8_t ones[512];
	memset(ones, 1, sizeof(ones));
	for (uint64_t done = 0; done < pages; done += sizeof(ones)) {
		uint64_t n = pages - done < sizeof(ones) ? pages - done : sizeof(ones);
		if (mm_write(t_mm(t), a[2] + done, ones, n))
			return -EFAULT;
	}
	return 0;
}

SYS(riscv_flush_icache)
{
	/* fence.i for every hart of the process: drop decoded code. */
	__atomic_add_fetch(&t_mm(t)->code_generation, 1, __ATOMIC_SEQ_CST);
	app_flush_other_harts(t);
	return 0;
}
