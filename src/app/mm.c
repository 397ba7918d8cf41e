/* The guest address space of app mode: one host reservation plus a sorted
 * table of guest mappings (VMAs) with the guest's permissions.
 *
 * Invariants: the reservation is never unmapped on the host (guest munmap
 * maps fresh anonymous memory over the range); every guest pointer a
 * system call uses is checked by mm_ptr() against the VMA table; and
 * either
 *  - direct access (mm->direct): the host protections mirror the VMA table
 *    (unmapped: none; pages with decoded code: not writable) by the time a
 *    system call that changes them returns, so compiled code accesses guest
 *    memory without a TLB and the host faults exactly what the guest may
 *    not do.  Another thread's TLB entry or pointer may outlive the
 *    protection it was made under: every access C code makes through one
 *    is fault tolerant (cpu/guest_access.h, and the guarded copies below)
 *    and translates again after a fault (docs/jit.md); or
 *  - (when the host cannot mirror a mapping, and for threads under
 *    lockstep) the whole reservation is read-write on the host, so host
 *    memory behind a stale TLB entry is always there. */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <errno.h>
#include <setjmp.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "condo/log.h"

/* After the reservation: a direct access that starts below its end and
 * reaches past it faults here. */
#define GUARD_SIZE GUEST_PAGE_SIZE

static void code_protect(void *ctx, void *page, bool code);

/* Tried in order: an Sv39-sized user space first, smaller when the host
 * refuses (ulimit -v). */
static const uint64_t as_sizes[] = { 1ull << 38, 1ull << 37, 1ull << 36, 1ull << 35,
				     1ull << 34, 1ull << 33, 1ull << 32 };

int mm_init(struct app_mm *mm, uint64_t mem_limit)
{
	memset(mm, 0, sizeof(*mm));
	for (size_t i = 0; i < ARRAY_SIZE(as_sizes); i++) {
		/* Nothing is mapped yet: no access (direct access). */
		void *p = mmap(NULL, as_sizes[i] + GUARD_SIZE, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			mm->host_base = p;
			mm->size = as_sizes[i];
			break;
		}
	}
	if (!mm->host_base)
		return -ENOMEM;
	if (code_map_init(&mm->code, mm->host_base, mm->size) < 0) {
		munmap(mm->host_base, mm->size + GUARD_SIZE);
		mm->host_base = NULL;
		return -ENOMEM;
	}
	mm->code.protect = code_protect;
	mm->code.ctx = mm;
	mm->direct = true;
	pthread_rwlock_init(&mm->lock, NULL);
	pthread_mutex_init(&mm->code_lock, NULL);
	mm->mem_limit = mem_limit;
	mm->mmap_top = mm->size - GUEST_PAGE_SIZE - APP_STACK_SIZE - APP_STACK_GAP;
	return 0;
}

void mm_destroy(struct app_mm *mm)
{
	if (mm->host_base)
		munmap(mm->host_base, mm->size + GUARD_SIZE);
	code_map_free(&mm->code);
	free(mm->vma);
	pthread_rwlock_destroy(&mm->lock);
	pthread_mutex_destroy(&mm->code_lock);
	memset(mm, 0, sizeof(*mm));
}

/* ---- the VMA table (callers hold the lock) ---- */

/* Index of the first VMA whose end is above addr (nvma if none). */
static size_t vma_first_above(const struct app_mm *mm, gva_t addr)
{
	size_t lo = 0, hi = mm->nvma;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (mm->vma[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct vma *vma_find(struct app_mm *mm, gva_t addr)
{
	size_t i = vma_first_above(mm, addr);
	if (i < mm->nvma && mm->vma[i].start <= addr)
		return &mm->vma[i];
	return NULL;
}

static bool vma_same(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot && a->maxprot == b->maxprot &&
	       a->flags == b->flags;
}

static bool range_ok(const struct app_mm *mm, gva_t start, uint64_t len)
{
	return start < mm->size && len <= mm->size - start;
}

/* Does a mapping count against --mem?  Accessible ones do, except the main
 * stack: its 8 MiB are reserved up front where Linux grows it on demand. */
static bool counts(int prot, int flags)
{
	return prot && !(flags & VMA_STACK);
}

/* Bytes of [start, end) that count against --mem now. */
static uint64_t accounted(struct app_mm *mm, gva_t start, gva_t end)
{
	uint64_t n = 0;
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && mm->vma[i].start < end; i++) {
		const struct vma *v = &mm->vma[i];
		gva_t s = v->start > start ? v->start : start;
		gva_t e = v->end < end ? v->end : end;
		if (counts(v->prot, v->flags))
			n += e - s;
	}
	return n;
}

/* Would replacing [start, end) with a mapping of prot stay within --mem?
 * Sets limit_hit when not. */
static bool within_limit(struct app_mm *mm, gva_t start, gva_t end, int prot, int flags)
{
	uint64_t old = accounted(mm, start, end);
	uint64_t new = counts(prot, flags) ? end - start : 0;
	if (!mm->mem_limit || new <= old || mm->mem_used - old + new <= mm->mem_limit)
		return true;
	mm->limit_hit = 1;
	return false;
}

static bool range_has_exec(struct app_mm *mm, gva_t start, gva_t end)
{
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && mm->vma[i].start < end; i++)
		if (mm->vma[i].prot & PROT_EXEC)
			return true;
	return false;
}

/* Replace whatever covers [start, end) by nv (NULL: nothing), splitting the
 * VMAs at the edges and merging equal neighbours; keeps mem_used and the
 * generations up to date. */
static int vma_replace(struct app_mm *mm, gva_t start, gva_t end, const struct vma *nv)
{
	bool code = range_has_exec(mm, start, end) || (nv && (nv->prot & PROT_EXEC));
	size_t i = vma_first_above(mm, start);
	size_t j = i;
	struct vma piece[3];
	size_t n = 0;

	while (j < mm->nvma && mm->vma[j].start < end)
		j++;
	if (i < j && mm->vma[i].start < start) {
		piece[n] = mm->vma[i];
		piece[n++].end = start;
	}
	if (nv)
		piece[n++] = *nv;
	if (i < j && mm->vma[j - 1].end > end) {
		piece[n] = mm->vma[j - 1];
		piece[n++].start = end;
	}
	if (mm->nvma - (j - i) + n > mm->cap) {
		size_t cap = mm->cap ? mm->cap * 2 : 64;
		struct vma *v = realloc(mm->vma, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		mm->vma = v;
		mm->cap = cap;
	}
	mm->mem_used -= accounted(mm, start, end);
	if (nv && counts(nv->prot, nv->flags))
		mm->mem_used += end - start;
	memmove(&mm->vma[i + n], &mm->vma[j], (mm->nvma - j) * sizeof(struct vma));
	memcpy(&mm->vma[i], piece, n * sizeof(struct vma));
	mm->nvma = mm->nvma - (j - i) + n;

	/* Merge with equal neighbours around the inserted pieces. */
	size_t lo = i > 0 ? i - 1 : 0;
	size_t hi = i + n < mm->nvma ? i + n : mm->nvma - 1;
	for (size_t k = hi; k > lo && k < mm->nvma; k--) {
		if (vma_same(&mm->vma[k - 1], &mm->vma[k])) {
			mm->vma[k - 1].end = mm->vma[k].end;
			memmove(&mm->vma[k], &mm->vma[k + 1],
				(mm->nvma - k - 1) * sizeof(struct vma));
			mm->nvma--;
		}
	}
	__atomic_add_fetch(&mm->map_generation, 1, __ATOMIC_SEQ_CST);
	if (code)
		__atomic_add_fetch(&mm->code_generation, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static bool is_free(struct app_mm *mm, gva_t start, uint64_t len)
{
	size_t i = vma_first_above(mm, start);
	return i == mm->nvma || mm->vma[i].start >= start + len;
}

/* ---- host memory behind guest ranges (callers hold the write lock) ---- */

static int host_anon(struct app_mm *mm, gva_t start, uint64_t len, bool shared)
{
	void *want = mm->host_base + start;
	void *p = mmap(want, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED |
			       MAP_NORESERVE,
		       -1, 0);
	return p == want ? 0 : -errno;
}

/* Map a host file into [start, start + len) without ever leaving a hole:
 * map it elsewhere first, then move it into place. */
static int host_file(struct app_mm *mm, gva_t start, uint64_t len, bool shared, int fd,
		     uint64_t offset)
{
	void *want = mm->host_base + start;
	void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE,
			 fd, (off_t)offset);
	if (tmp == MAP_FAILED)
		return -errno;
	void *p = mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, want);
	if (p != want) {
		int err = -errno;
		munmap(tmp, len);
		return err;
	}
	return 0;
}

/* ---- host protections for direct access ---- */

/* Every hart drops its code (compiled for direct access) at its next block
 * boundary, and the reservation becomes read-write: the TLB's invariant. */
static void leave_direct_locked(struct app_mm *mm, const char *why)
{
	if (!mm->direct)
		return;
	log_debug("app", "guest memory through the TLB from now on: %s", why);
	if (mprotect(mm->host_base, mm->size, PROT_READ | PROT_WRITE) < 0) {
		/* One protection for the whole range only merges host mappings,
		 * so this is the host out of memory, not a guest's doing. */
		log_err("app", "cannot make the guest address space accessible: %s",
			strerror(errno));
		_exit(1);
	}
	__atomic_store_n(&mm->direct, false, __ATOMIC_RELEASE);
	__atomic_add_fetch(&mm->code_generation, 1, __ATOMIC_SEQ_CST);
	if (mm->code.notify)
		mm->code.notify(mm->code.ctx, CODE_ALL);
}

void mm_leave_direct(struct app_mm *mm, const char *why)
{
	pthread_rwlock_wrlock(&mm->lock);
	leave_direct_locked(mm, why);
	pthread_rwlock_unlock(&mm->lock);
}

/* The host protection mirroring v, or -1 when the host cannot: x86 pages
 * are readable whenever they are writable or executable. */
static int host_prot(const struct vma *v)
{
	if (v->flags & VMA_SIGBUS)
		return PROT_NONE;
	if (v->prot && !(v->prot & PROT_READ))
		return -1;
	return v->prot & (PROT_READ | PROT_WRITE);
}

/* Take write permission from the pages of [start, end) holding decoded
 * code, so that every store to them faults into its slow path, which
 * reports it to the code map (code_protect gives it back). */
static int unwrite_code(struct app_mm *mm, gva_t start, gva_t end)
{
	const uint8_t *m = code_map_mark_of(&mm->code, mm->host_base + start);

	if (!m)
		return 0;
	const uint8_t *p = m, *stop = m + ((end - start) >> GUEST_PAGE_SHIFT);
	while (p < stop && (p = memchr(p, 1, (size_t)(stop - p)))) {
		uint8_t *page = mm->host_base + start + ((uint64_t)(p - m) << GUEST_PAGE_SHIFT);
		if (mprotect(page, GUEST_PAGE_SIZE, PROT_READ) < 0)
			return -1;
		p++;
	}
	return 0;
}

/* Host protections of [start, end) from the VMA table (write lock held).
 * When the host cannot mirror them (an execute- or write-only mapping, or
 * no host memory for another host mapping), direct access ends instead. */
static void host_sync(struct app_mm *mm, gva_t start, gva_t end)
{
	size_t i = vma_first_above(mm, start);

	for (gva_t at = start; mm->direct && at < end;) {
		gva_t e = end;
		int prot = PROT_NONE;

		if (i < mm->nvma && mm->vma[i].start <= at) {
			prot = host_prot(&mm->vma[i]);
			if (mm->vma[i].end < e)
				e = mm->vma[i].end;
			i++;
		} else if (i < mm->nvma && mm->vma[i].start < e) {
			e = mm->vma[i].start;
		}
		if (prot < 0)
			leave_direct_locked(mm, "a write- or execute-only mapping");
		else if (mprotect(mm->host_base + at, e - at, prot) < 0 ||
			 ((prot & PROT_WRITE) && unwrite_code(mm, at, e) < 0))
			leave_direct_locked(mm, "the host refused a protection");
		at = e;
	}
}

/* The code map's hook: a page became code (before it is decoded) or stops
 * being code (before it is written).  Threads may mark and unmark one page
 * at once, each calling here after changing the mark: the mark as it is
 * now decides, under code_lock, so whichever call comes last leaves the
 * page as its mark says.  Never a page of code left writable (a store
 * would go unseen) nor a page of data left read-only (a store would fault
 * into its slow path for ever). */
static void code_protect(void *ctx, void *page, bool code)
{
	struct app_mm *mm = ctx;
	gva_t at = (gva_t)((uint8_t *)page - mm->host_base);
	bool failed = false;

	(void)code;
	if (!__atomic_load_n(&mm->direct, __ATOMIC_ACQUIRE))
		return;
	pthread_rwlock_rdlock(&mm->lock);
	pthread_mutex_lock(&mm->code_lock);
	const struct vma *v = vma_find(mm, at);
	int prot = v ? host_prot(v) : PROT_NONE;
	if (mm->direct && prot > 0 && (prot & PROT_WRITE)) {
		if (code_map_is_code(&mm->code, page))
			prot &= ~PROT_WRITE;
		failed = mprotect(page, GUEST_PAGE_SIZE, prot) < 0;
	}
	pthread_mutex_unlock(&mm->code_lock);
	pthread_rwlock_unlock(&mm->lock);
	if (failed)
		mm_leave_direct(mm, "the host refused to protect a page of code");
}

/* ---- checked access for system calls ---- */

static int prot_of_access(enum mem_access access)
{
	return access == ACC_WRITE ? PROT_WRITE : access == ACC_EXEC ? PROT_EXEC : PROT_READ;
}

void *mm_ptr(struct app_mm *mm, gva_t addr, size_t len, int prot)
{
	void *p = NULL;

	if (len == 0)
		return mm->host_base; /* never dereferenced */
	if (!range_ok(mm, addr, len))
		return NULL;
	pthread_rwlock_rdlock(&mm->lock);
	gva_t end = addr + len, at = addr;
	size_t i = vma_first_above(mm, addr);
	for (; i < mm->nvma && at < end; i++) {
		const struct vma *v = &mm->vma[i];
		if (v->start > at || (v->prot & prot) != prot || (v->flags & VMA_SIGBUS))
			break;
		at = v->end;
	}
	if (at >= end)
		p = mm->host_base + addr;
	pthread_rwlock_unlock(&mm->lock);
	if (p && (prot & PROT_WRITE))
		code_map_written(&mm->code, p, len); /* the caller is about to write */
	return p;
}

/* A copy to or from guest memory can still fault after mm_ptr() said yes:
 * a shared file mapping whose file was truncated meanwhile is SIGBUS past
 * its new end.  Linux returns EFAULT from the system call then, so the
 * copy runs under a guard the host SIGBUS/SIGSEGV handler jumps back to. */
/* volatile: the stores around memcpy() must happen, a handler reads them */
static __thread sigjmp_buf *volatile copy_guard;

bool mm_copy_fault(void)
{
	if (!copy_guard)
		return false;
	siglongjmp(*copy_guard, 1);
}

static int guarded_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf env;
	if (sigsetjmp(env, 0)) {
		/* Out of a handler that ran with every signal blocked. */
		copy_guard = NULL;
		if (app_current)
			sig_set_host_mask(app_current->blocked);
		return -EFAULT;
	}
	copy_guard = &env;
	memcpy(dst, src, len);
	copy_guard = NULL;
	return 0;
}

/* A copy that faulted after mm_ptr() said yes is tried again: another
 * thread may have changed the page since (mm_ptr says no now) or made it
 * code again (mm_ptr makes it writable again); a shrunk file faults every
 * time. */
#define COPY_TRIES 4

int mm_read(struct app_mm *mm, void *dst, gva_t addr, size_t len)
{
	for (int i = 0; i < COPY_TRIES; i++) {
		const void *p = mm_ptr(mm, addr, len, PROT_READ);
		if (!p)
			break;
		if (guarded_copy(dst, p, len) == 0)
			return 0;
	}
	return -EFAULT;
}

int mm_write(struct app_mm *mm, gva_t addr, const void *src, size_t len)
{
	for (int i = 0; i < COPY_TRIES; i++) {
		void *p = mm_ptr(mm, addr, len, PROT_WRITE);
		if (!p)
			break;
		if (guarded_copy(p, src, len) == 0)
			return 0;
	}
	return -EFAULT;
}

int mm_strcpy(struct app_mm *mm, char *dst, gva_t addr, size_t size)
{
	size_t done = 0;
	while (done < size) {
		/* Check one page at a time: the string may end before an unmapped page. */
		uint64_t chunk = GUEST_PAGE_SIZE - ((addr + done) & (GUEST_PAGE_SIZE - 1));
		if (chunk > size - done)
			chunk = size - done;
		const char *p = mm_ptr(mm, addr + done, chunk, PROT_READ);
		if (!p)
			return -EFAULT;
		if (guarded_copy(dst + done, p, chunk))
			return -EFAULT;
		const char *nul = memchr(dst + done, 0, chunk);
		size_t n = nul ? (size_t)(nul - (dst + done)) + 1 : chunk;
		if (nul)
			return 0;
		done += n;
	}
	return -ENAMETOOLONG;
}

int mm_fill(struct app_mm *mm, gva_t page, enum mem_access access, uint8_t **host)
{
	int ret = -1;
	int prot = prot_of_access(access);

	if (page >= mm->size)
		return -1;
	pthread_rwlock_rdlock(&mm->lock);
	const struct vma *v = vma_find(mm, page);
	if (v && (v->prot & prot) == prot && !(v->flags & VMA_SIGBUS)) {
		*host = mm->host_base + page;
		ret = 0;
	}
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

bool mm_lookup(struct app_mm *mm, gva_t addr, struct vma *out)
{
	pthread_rwlock_rdlock(&mm->lock);
	const struct vma *v = vma_find(mm, addr);
	if (v)
		*out = *v;
	pthread_rwlock_unlock(&mm->lock);
	return v != NULL;
}

bool mm_is_free(struct app_mm *mm, gva_t start, uint64_t len)
{
	pthread_rwlock_rdlock(&mm->lock);
	bool ok = range_ok(mm, start, len) && is_free(mm, start, len);
	pthread_rwlock_unlock(&mm->lock);
	return ok;
}

/* ---- changing mappings ---- */

static int replace_locked(struct app_mm *mm, gva_t start, uint64_t len, int prot, int flags,
			  int fd, uint64_t offset)
{
	struct vma nv = { start, start + len, prot, PROT_READ | PROT_WRITE | PROT_EXEC, flags };
	uint64_t file_len = len;
	int err;

	if (!within_limit(mm, start, start + len, prot, flags))
		return -ENOMEM;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (S_ISREG(st.st_mode)) {
			/* Pages wholly past the end of the file raise SIGBUS, as on Linux. */
			uint64_t avail = (uint64_t)st.st_size > offset ? st.st_size - offset : 0;
			avail = page_up(avail);
			if (avail < file_len)
				file_len = avail;
		}
		int mode = fcntl(fd, F_GETFL) & O_ACCMODE;
		if (mode == O_WRONLY)
			return -EACCES;
		bool host_shared = (flags & VMA_SHARED) && mode == O_RDWR;
		if ((flags & VMA_SHARED) && mode != O_RDWR) {
			if (prot & PROT_WRITE)
				return -EACCES;
			nv.maxprot &= ~PROT_WRITE;
		}
		if (file_len) {
			err = host_file(mm, start, file_len, host_shared, fd, offset);
			if (err)
				return err;
		}
		if (file_len < len) {
			err = host_anon(mm, start + file_len, len - file_len, false);
			if (err)
				return err;
		}
		nv.flags |= VMA_FILE;
		if (!host_shared)
			nv.flags &= ~VMA_SHARED;
	} else {
		err = host_anon(mm, start, len, flags & VMA_SHARED);
		if (err)
			return err;
	}
	if (file_len < len && file_len > 0) {
		struct vma tail = nv;
		nv.end = start + file_len;
		tail.start = nv.end;
		tail.flags |= VMA_SIGBUS;
		err = vma_replace(mm, nv.start, nv.end, &nv);
		return err ? err : vma_replace(mm, tail.start, tail.end, &tail);
	}
	if (file_len == 0 && fd >= 0)
		nv.flags |= VMA_SIGBUS;
	return vma_replace(mm, start, start + len, &nv);
}

/* Map [start, start + len) anew; the host protections follow, even when
 * it failed half-way. */
static int map_locked(struct app_mm *mm, gva_t start, uint64_t len, int prot, int flags, int fd,
		      uint64_t offset)
{
	int err = replace_locked(mm, start, len, prot, flags, fd, offset);

	host_sync(mm, start, start + len);
	return err;
}

int mm_map(struct app_mm *mm, gva_t start, uint64_t len, int prot, int flags, int fd,
	   uint64_t offset)
{
	if ((start | len) & ~GUEST_PAGE_MASK || !len || !range_ok(mm, start, len))
		return -EINVAL;
	pthread_rwlock_wrlock(&mm->lock);
	int err = map_locked(mm, start, len, prot, flags, fd, offset);
	pthread_rwlock_unlock(&mm->lock);
	return err;
}

static gva_t find_free_locked(struct app_mm *mm, uint64_t len, gva_t hint, uint64_t align)
{
	if (align < GUEST_PAGE_SIZE)
		align = GUEST_PAGE_SIZE;
	if (!len || len > mm->size)
		return 0;
	hint = page_down(hint);
	if (hint >= APP_MIN_ADDR && hint % align == 0 && range_ok(mm, hint, len) &&
	    is_free(mm, hint, len))
		return hint;

	/* Top-down below mmap_top first, like Linux's mmap layout; then anywhere. */
	for (int pass = 0; pass < 2; pass++) {
		gva_t top = pass == 0 ? mm->mmap_top : mm->size;
		for (size_t k = mm->nvma + 1; k-- > 0;) {
			gva_t lo = k == 0 ? APP_MIN_ADDR : mm->vma[k - 1].end;
			gva_t hi = k == mm->nvma ? mm->size : mm->vma[k].start;
			if (lo < APP_MIN_ADDR)
				lo = APP_MIN_ADDR;
			if (hi > top)
				hi = top;
			if (hi <= lo || hi - lo < len)
				continue;
			gva_t cand = (hi - len) & ~(align - 1);
			if (cand >= lo)
				return cand;
		}
	}
	return 0;
}

gva_t mm_find_free(struct app_mm *mm, uint64_t len, gva_t hint, uint64_t align)
{
	pthread_rwlock_rdlock(&mm->lock);
	gva_t r = find_free_locked(mm, page_up(len), hint, align);
	pthread_rwlock_unlock(&mm->lock);
	return r;
}

int mm_unmap(struct app_mm *mm, gva_t start, uint64_t len)
{
	if (start & ~GUEST_PAGE_MASK || !len)
		return -EINVAL;
	len = page_up(len);
	if (!len || !range_ok(mm, start, len))
		return -EINVAL;
	pthread_rwlock_wrlock(&mm->lock);
	gva_t end = start + len;
	int err = 0;
	/* Fresh host memory behind every piece that was mapped. */
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && mm->vma[i].start < end; i++) {
		gva_t s = mm->vma[i].start > start ? mm->vma[i].start : start;
		gva_t e = mm->vma[i].end < end ? mm->vma[i].end : end;
		err = host_anon(mm, s, e - s, false);
		if (err)
			break;
	}
	if (!err)
		err = vma_replace(mm, start, end, NULL);
	host_sync(mm, start, end);
	pthread_rwlock_unlock(&mm->lock);
	return err;
}

/* Is [start, end) wholly mapped? */
static bool fully_mapped(struct app_mm *mm, gva_t start, gva_t end)
{
	gva_t at = start;
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && at < end; i++) {
		if (mm->vma[i].start > at)
			return false;
		at = mm->vma[i].end;
	}
	return at >= end;
}

int mm_protect(struct app_mm *mm, gva_t start, uint64_t len, int prot)
{
	if (start & ~GUEST_PAGE_MASK)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	len = page_up(len);
	if (!len)
		return 0;
	if (!range_ok(mm, start, len))
		return -ENOMEM;
	gva_t end = start + len;
	int err = 0;
	pthread_rwlock_wrlock(&mm->lock);
	if (!fully_mapped(mm, start, end)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && mm->vma[i].start < end; i++)
		if (prot & ~mm->vma[i].maxprot) {
			err = -EACCES;
			goto out;
		}
	/* The new size counted: the same pieces with the new protection. */
	uint64_t now = accounted(mm, start, end), then = 0;
	for (size_t i = vma_first_above(mm, start); i < mm->nvma && mm->vma[i].start < end; i++) {
		gva_t s = mm->vma[i].start > start ? mm->vma[i].start : start;
		gva_t e = mm->vma[i].end < end ? mm->vma[i].end : end;
		if (counts(prot, mm->vma[i].flags))
			then += e - s;
	}
	if (mm->mem_limit && then > now && mm->mem_used - now + then > mm->mem_limit) {
		mm->limit_hit = 1;
		err = -ENOMEM;
		goto out;
	}
	/* Rewrite piece by piece; each replace may merge, so restart the search. */
	for (gva_t at = start; at < end && !err;) {
		struct vma v = *vma_find(mm, at);
		v.start = at;
		if (v.end > end)
			v.end = end;
		v.prot = prot;
		at = v.end;
		err = vma_replace(mm, v.start, v.end, &v);
	}
	host_sync(mm, start, end);
out:
	pthread_rwlock_unlock(&mm->lock);
	return err;
}

int64_t mm_mmap(struct app_mm *mm, gva_t addr, uint64_t len, int prot, int flags, int fd,
		uint64_t offset)
{
	int type = flags & MAP_TYPE;
	int vflags = 0;
	int64_t ret;

	if (!len)
		return -EINVAL;
	if (page_up(len) < len || page_up(len) > mm->size)
		return -ENOMEM;
	len = page_up(len);
	if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE)
		vflags |= VMA_SHARED;
	else if (type != MAP_PRIVATE)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (flags & MAP_ANONYMOUS)
		fd = -1;
	else if (offset & ~GUEST_PAGE_MASK)
		return -EINVAL;
	/* riscv64 shifts the signed offset into a page number: a negative one
	 * (or one whose end wraps) overflows in do_mmap(). */
	else if ((int64_t)offset < 0 || offset + len < offset)
		return -EOVERFLOW;

	pthread_rwlock_wrlock(&mm->lock);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~GUEST_PAGE_MASK) {
			ret = -EINVAL;
			goto out;
		}
		if (addr < APP_MIN_ADDR || !range_ok(mm, addr, len)) {
			ret = (flags & MAP_FIXED) ? -EPERM : -ENOMEM;
			goto out;
		}
		if (!(flags & MAP_FIXED) && !is_free(mm, addr, len)) {
			ret = -EEXIST;
			goto out;
		}
	} else {
		addr = find_free_locked(mm, len, addr, GUEST_PAGE_SIZE);
		if (!addr) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = map_locked(mm, addr, len, prot, vflags, fd, offset);
	if (!ret)
		ret = (int64_t)addr;
out:
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

gva_t mm_brk(struct app_mm *mm, gva_t addr)
{
	pthread_rwlock_wrlock(&mm->lock);
	gva_t cur_end = page_up(mm->brk_cur);
	gva_t new_end = page_up(addr);
	if (addr < mm->brk_start || addr >= mm->mmap_top || new_end < addr)
		goto out;
	if (new_end > cur_end) {
		if (!is_free(mm, cur_end, new_end - cur_end))
			goto out;
		if (map_locked(mm, cur_end, new_end - cur_end, PROT_READ | PROT_WRITE, VMA_BRK, -1,
			       0))
			goto out;
	} else if (new_end < cur_end) {
		int err = host_anon(mm, new_end, cur_end - new_end, false);
		if (!err)
			err = vma_replace(mm, new_end, cur_end, NULL);
		host_sync(mm, new_end, cur_end);
		if (err)
			goto out;
	}
	mm->brk_cur = addr;
out:
	addr = mm->brk_cur;
	pthread_rwlock_unlock(&mm->lock);
	return addr;
}

int64_t mm_remap(struct app_mm *mm, gva_t old, uint64_t old_len, uint64_t new_len, int flags,
		 gva_t new_addr)
{
	int64_t ret;
	bool moved = false;

	if (old & ~GUEST_PAGE_MASK || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && (!(flags & MREMAP_MAYMOVE) || new_addr & ~GUEST_PAGE_MASK))
		return -EINVAL;
	old_len = page_up(old_len);
	new_len = page_up(new_len);
	if (!new_len || !old_len || !range_ok(mm, old, old_len) || new_len > mm->size)
		return old_len ? -EINVAL : -ENOMEM;

	pthread_rwlock_wrlock(&mm->lock);
	struct vma *v = vma_find(mm, old);
	if (!v || v->end < old + old_len) {
		ret = -EFAULT;
		goto out;
	}
	struct vma nv = *v;
	bool shared_mem = (v->flags & VMA_SHARED) != 0;

	if (!(flags & MREMAP_FIXED)) {
		if (new_len <= old_len) {
			/* Shrink in place. */
			if (new_len < old_len) {
				ret = host_anon(mm, old + new_len, old_len - new_len, false);
				if (!ret)
					ret = vma_replace(mm, old + new_len, old + old_len, NULL);
				if (ret)
					goto out;
			}
			ret = (int64_t)old;
			goto out;
		}
		/* Grow in place when the pages after it are free: they are fresh
		 * zero pages already.  (A grown file mapping reads zeroes there.) */
		if (range_ok(mm, old, new_len) && v->end == old + old_len &&
		    is_free(mm, old + old_len, new_len - old_len)) {
			if (!within_limit(mm, old + old_len, old + new_len, nv.prot, nv.flags)) {
				ret = -ENOMEM;
				goto out;
			}
			nv.start = old + old_len;
			nv.end = old + new_len;
			nv.flags &= ~VMA_SIGBUS;
			ret = vma_replace(mm, nv.start, nv.end, &nv);
			if (!ret)
				ret = (int64_t)old;
			goto out;
		}
		if (!(flags & MREMAP_MAYMOVE)) {
			ret = -ENOMEM;
			goto out;
		}
		new_addr = find_free_locked(mm, new_len, 0, GUEST_PAGE_SIZE);
		if (!new_addr) {
			ret = -ENOMEM;
			goto out;
		}
	} else {
		if (new_addr < APP_MIN_ADDR || !range_ok(mm, new_addr, new_len) ||
		    (new_addr < old + old_len && old < new_addr + new_len)) {
			ret = -EINVAL;
			goto out;
		}
	}

	/* Move: the pages go to new_addr, old becomes unmapped.  The limit sees
	 * the new range added before the old one is dropped; allow for that. */
	uint64_t keep = old_len < new_len ? old_len : new_len;
	if (mm->mem_limit && counts(nv.prot, nv.flags) && new_len > old_len &&
	    mm->mem_used - accounted(mm, new_addr, new_addr + new_len) + (new_len - old_len) >
		    mm->mem_limit) {
		mm->limit_hit = 1;
		ret = -ENOMEM;
		goto out;
	}
	uint8_t *from = mm->host_base + old, *to = mm->host_base + new_addr;
	moved = true;
	/* Clear the target first (it may hold an old mapping). */
	ret = host_anon(mm, new_addr, new_len, shared_mem);
	if (ret)
		goto out;
	/* MREMAP_DONTUNMAP moves the pages and leaves the old range mapped, so
	 * no host hole opens even for a moment. */
	if (mremap(from, keep, keep, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to) !=
	    (void *)to) {
		if (shared_mem) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(to, from, keep);
	}
	ret = host_anon(mm, old, old_len, false);
	if (ret)
		goto out;
	nv.start = new_addr;
	nv.end = new_addr + new_len;
	nv.flags &= ~VMA_SIGBUS;
	struct vma mv = nv;
	ret = vma_replace(mm, old, old + old_len, NULL);
	if (!ret)
		ret = vma_replace(mm, mv.start, mv.end, &mv);
	if (!ret)
		ret = (int64_t)new_addr;
out:
	/* The host protections of what changed (range_ok(old, old_len) held
	 * whenever anything did). */
	if (ret >= 0 || moved) {
		uint64_t span = old_len > new_len ? old_len : new_len;
		host_sync(mm, old, span <= mm->size - old ? old + span : mm->size);
		if (moved)
			host_sync(mm, new_addr, new_addr + new_len);
	}
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

int mm_advise(struct app_mm *mm, gva_t start, uint64_t len, int advice)
{
	if (start & ~GUEST_PAGE_MASK)
		return -EINVAL;
	len = page_up(len);
	if (!len)
		return 0;
	if (!range_ok(mm, start, len))
		return -ENOMEM;
	int err = 0;
	gva_t end = start + len;
	pthread_rwlock_wrlock(&mm->lock);
	if (!fully_mapped(mm, start, end)) {
		err = -ENOMEM;
		goto out;
	}
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
		/* Private anonymous pages read as zero afterwards, file pages are
		 * re-read: exactly the host's behaviour on the same range. */
		if (madvise(mm->host_base + start, len, MADV_DONTNEED) < 0)
			err = -errno;
		break;
	case MADV_REMOVE:
	case MADV_HWPOISON:
		err = -EINVAL;
		break;
	default:
		break; /* hints only */
	}
out:
	pthread_rwlock_unlock(&mm->lock);
	return err;
}
