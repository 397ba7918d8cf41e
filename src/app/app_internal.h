/* App mode internals: the guest address space (mm.c), the ELF loader
 * (elf.c), the initial stack (stack.c), the sandboxed file system view
 * (path.c), threads and processes (thread.c, exec.c), signals (signal.c) and
 * the system-call layer (syscall.c, sys_*.c).  Nothing here is public. */
#ifndef CONDO_APP_INTERNAL_H
#define CONDO_APP_INTERNAL_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "condo/app.h"
#include "condo/jail.h"
#include "condo/cpu.h"

/* ---- Guest address space layout (a Linux-like Sv39 user space). ---- */

#define APP_MIN_ADDR   0x10000ull    /* nothing is mapped below (vm.mmap_min_addr) */
#define APP_STACK_SIZE (8ull << 20)  /* main thread stack, like RLIMIT_STACK */
#define APP_STACK_GAP  (128ull << 20) /* between the stack and the mmap area */

static inline uint64_t page_down(uint64_t x)
{
	return x & GUEST_PAGE_MASK;
}
static inline uint64_t page_up(uint64_t x)
{
	return (x + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
}

/* ---- mm.c: the guest address space ---- */

enum vma_flags {
	VMA_SHARED = 1 << 0, /* MAP_SHARED: host pages shared across fork */
	VMA_FILE = 1 << 1,   /* backed by a host file */
	VMA_STACK = 1 << 2,  /* the main thread's stack */
	VMA_BRK = 1 << 3,    /* the program break */
	VMA_SIGBUS = 1 << 4, /* beyond the end of the mapped file: access is SIGBUS */
};

/* One guest mapping: [start, end), page aligned, with the guest's view of
 * its permissions, which fill() and mm_ptr() enforce (and, with direct
 * access, the host's protections). */
struct vma {
	gva_t start, end;
	int prot;    /* PROT_READ | PROT_WRITE | PROT_EXEC */
	int maxprot; /* what mprotect may grant (read-only shared files) */
	int flags;   /* enum vma_flags */
};

/* The whole guest address space is one host reservation [host_base,
 * host_base + size) that is never unmapped: guest unmaps map fresh
 * anonymous memory over the range (inaccessible with direct access), so a
 * stale TLB entry in another thread points at host memory that is there,
 * and every C access through one is fault tolerant (mm.c). */
struct app_mm {
	uint8_t *host_base;
	uint64_t size;           /* guest addresses are [0, size) */
	pthread_rwlock_t lock;   /* the VMA table */
	struct vma *vma;         /* sorted by start, non-overlapping */
	size_t nvma, cap;
	gva_t brk_start;         /* the program break is [brk_start, brk_cur) */
	gva_t brk_cur;
	gva_t mmap_top;          /* mmap without a hint searches down from here */
	uint64_t mem_limit;      /* 0: none */
	uint64_t mem_used;       /* bytes of mappings with prot != PROT_NONE */
	volatile int limit_hit;  /* a request went past mem_limit */
	volatile uint64_t map_generation;  /* bumped whenever mappings change */
	volatile uint64_t code_generation; /* bumped when executable mappings change */
	/* Pages of the reservation code was decoded from; written ones are
	 * invalidated (stores, and system calls writing guest memory). */
	struct code_map code;
	/* Direct access (docs/jit.md): the host protections of the
	 * reservation mirror the VMA table (pages with decoded code not
	 * writable), so compiled code reaches guest memory without the TLB and
	 * the host faults what the guest may not touch.  Ends for good when a
	 * mapping the host cannot mirror appears (write- or execute-only) or
	 * a second thread starts under lockstep; the whole reservation is
	 * then read-write, as a stale TLB entry in compiled code needs. */
	bool direct;
	/* Orders code_protect()'s mprotect calls (taken inside lock, read). */
	pthread_mutex_t code_lock;
};

int mm_init(struct app_mm *mm, uint64_t mem_limit);
/* End direct access for good (why: for the debug log). */
void mm_leave_direct(struct app_mm *mm, const char *why);
void mm_destroy(struct app_mm *mm);

/* The ONE checked accessor for guest memory: the host address of [addr,
 * addr + len) when every byte is mapped with at least prot, else NULL. */
void *mm_ptr(struct app_mm *mm, gva_t addr, size_t len, int prot);
int mm_read(struct app_mm *mm, void *dst, gva_t addr, size_t len);        /* 0 / -EFAULT */
int mm_write(struct app_mm *mm, gva_t addr, const void *src, size_t len); /* 0 / -EFAULT */
/* From the host fault handler: a guarded copy in mm_read/mm_write/mm_strcpy
 * on this thread faulted; jumps back to it (no return).  false: none. */
bool mm_copy_fault(void);
/* Copy a NUL-terminated guest string; -EFAULT, -ENAMETOOLONG (no NUL within size). */
int mm_strcpy(struct app_mm *mm, char *dst, gva_t addr, size_t size);

/* Map [start, start + len) (page aligned) replacing whatever is there.  fd < 0:
 * anonymous.  flags: VMA_SHARED (and internally VMA_STACK, VMA_BRK).
 * Returns 0 or -errno; -ENOMEM with limit_hit set past --mem. */
int mm_map(struct app_mm *mm, gva_t start, uint64_t len, int prot, int flags, int fd,
	   uint64_t offset);
/* mmap(2) with the guest's MAP_* flags: the address or -errno. */
int64_t mm_mmap(struct app_mm *mm, gva_t addr, uint64_t len, int prot, int flags, int fd,
		uint64_t offset);
int mm_unmap(struct app_mm *mm, gva_t start, uint64_t len);
int mm_protect(struct app_mm *mm, gva_t start, uint64_t len, int prot);
/* A free, page-aligned range of len bytes: at hint if free, else the highest
 * one below mmap_top aligned to align.  0 when there is none. */
gva_t mm_find_free(struct app_mm *mm, uint64_t len, gva_t hint, uint64_t align);
/* True when no mapping intersects [start, start + len). */
bool mm_is_free(struct app_mm *mm, gva_t start, uint64_t len);
/* brk(2): returns the new (or unchanged) break. */
gva_t mm_brk(struct app_mm *mm, gva_t addr);
/* mremap(2): the new address or -errno. */
int64_t mm_remap(struct app_mm *mm, gva_t old, uint64_t old_len, uint64_t new_len, int flags,
		 gva_t new_addr);
int mm_advise(struct app_mm *mm, gva_t start, uint64_t len, int advice);
/* The hart's fill callback: see struct hart_env_ops in cpu.h. */
int mm_fill(struct app_mm *mm, gva_t page, enum mem_access access, uint8_t **host);
/* The VMA holding addr (a copy), for fault reports; false when unmapped. */
bool mm_lookup(struct app_mm *mm, gva_t addr, struct vma *out);

/* ---- elf.c: ELF64 RISC-V executables ---- */

#define ELF_MAX_PHNUM 512

struct elf_phdr64 {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf_image {
	int type;           /* ET_EXEC or ET_DYN */
	uint64_t entry;     /* before relocation */
	uint64_t phoff;
	uint16_t phnum;
	struct elf_phdr64 *phdr; /* phnum entries */
	uint64_t lo, hi;    /* page-aligned span of the PT_LOAD segments, before relocation */
	uint64_t align;     /* largest PT_LOAD alignment (>= page size) */
	uint64_t phdr_vaddr; /* where the program headers are in memory; 0: nowhere */
	char *interp;       /* PT_INTERP path or NULL */
	bool exec_stack;    /* PT_GNU_STACK asks for an executable stack */
};

/* Read and check the headers of the ELF file open on fd.  On failure returns
 * -ENOEXEC (or -EIO, -ENOMEM) and points *why at a one-line description. */
int elf_read(int fd, struct elf_image *img, const char **why);
void elf_free(struct elf_image *img);
/* Copy the PT_LOAD segments into mm at bias (0 for ET_EXEC). */
int elf_load(struct app_mm *mm, int fd, const struct elf_image *img, uint64_t bias,
	     const char **why);
/* Where an image of this shape would be placed in mm: 0 for ET_EXEC; the
 * PIE base for the main program; a free range for an interpreter. */
int elf_choose_bias(struct app_mm *mm, const struct elf_image *img, bool is_interp,
		    uint64_t *bias, const char **why);

/* ---- stack.c: the initial process stack (Linux ABI, riscv psABI) ---- */

#define AT_HWCAP_RV64IMAFDC                                                                \
	((1u << ('I' - 'A')) | (1u << ('M' - 'A')) | (1u << ('A' - 'A')) |                 \
	 (1u << ('F' - 'A')) | (1u << ('D' - 'A')) | (1u << ('C' - 'A')))

struct stack_info {
	int argc;
	char *const *argv;
	char *const *envp;
	const char *execfn;
	uint64_t phdr, phent, phnum, entry, base; /* base: interpreter load address */
	uint32_t uid, euid, gid, egid;
	uint8_t random[16];
};

/* Lay out argc, argv, envp, auxv and their strings below top (inside an
 * existing writable mapping) and store the initial sp.  -E2BIG when the
 * arguments do not fit in limit bytes, -EFAULT when the stack is too small. */
int stack_build(struct app_mm *mm, gva_t top, uint64_t limit, const struct stack_info *info,
		gva_t *sp);

/* ---- path.c: the file system view confined to the root ---- */

#define APP_PATH_MAX 4096

/* The path functions below take host fds: callers translate the guest's
 * through the fd table (fdtable.c) first. */
struct app_fs {
	int root_fd;      /* O_PATH directory fd of the root (condo's own) */
	char *root;       /* its canonical host path, no trailing '/' except for "/" */
	size_t root_len;
};

/* Open the root (a host path) and move the host cwd inside it. */
int fs_init(struct app_fs *fs, const char *root, const char **why);
void fs_destroy(struct app_fs *fs);
/* Is the object the host fd names inside the root?  false for pipes and
 * other objects without a path, and for anything outside. */
bool fs_fd_inside(const struct app_fs *fs, int fd);
/* The guest view of a host path inside the root ("/" for the root itself);
 * -EACCES when host is outside the root. */
int fs_guest_path(const struct app_fs *fs, const char *host, char *out, size_t size);
/* An absolute guest path for path relative to the guest dirfd (or AT_FDCWD). */
int fs_absolute(const struct app_fs *fs, int dirfd, const char *path, char *out, size_t size);
/* openat(2) inside the root: a host fd or -errno. */
int fs_open(const struct app_fs *fs, int dirfd, const char *path, int flags, int mode);
/* The parent directory of path as an O_PATH fd (caller closes it) and the
 * last component copied to last (with its trailing '/' if any), for calls
 * that must not follow a final symlink.  "." and ".." as last component
 * resolve the path itself and return last = ".". */
int fs_parent(const struct app_fs *fs, int dirfd, const char *path, char *last, size_t size);
/* An O_PATH fd (caller closes it) for what path names; at_flags may hold
 * AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH with their fstatat(2) meaning. */
int fs_lookup(const struct app_fs *fs, int dirfd, const char *path, int at_flags);

/* ---- fdtable.c: the guest's descriptor table ---- */

#define FDT_MAX (1 << 20) /* fs.nr_open: no guest fd number reaches this */

/* One host descriptor the guest holds, shared by dup'ed guest fds. */
struct app_file {
	int host_fd; /* close-on-exec on the host, always */
	int refs;    /* slots pointing here + system calls using it */
};

struct fd_slot {
	struct app_file *file; /* NULL: a free number */
	bool cloexec;          /* the guest's FD_CLOEXEC */
};

struct fd_table {
	pthread_mutex_t lock;
	struct fd_slot *slot;
	int cap;   /* slots allocated */
	int limit; /* the guest's RLIMIT_NOFILE: numbers are below it */
};

/* What a guest execve passes on: the non-close-on-exec slots. */
struct fdt_entry {
	int guest_fd, host_fd;
	struct app_file *file; /* held until fdt_release_exec */
};

int fdt_init(struct fd_table *ft);
void fdt_destroy(struct fd_table *ft);
/* Give the guest host_fd (owned by the table from now on, closed on
 * failure) at the lowest free number: the guest fd, or -EMFILE. */
int fdt_install(struct fd_table *ft, int host_fd, bool cloexec);
/* The same at a given number, replacing what is there (for inheritance);
 * on failure the host fd stays the caller's. */
int fdt_install_at(struct fd_table *ft, int fd, int host_fd, bool cloexec);
/* A reference to the file at fd, or NULL (EBADF); release with fdt_put. */
struct app_file *fdt_get(struct fd_table *ft, int fd);
void fdt_put(struct app_file *f);
int fdt_close(struct fd_table *ft, int fd);
int fdt_close_range(struct fd_table *ft, unsigned first, unsigned last, bool cloexec_only);
/* F_DUPFD: the lowest free number >= min sharing fd's file. */
int fdt_dup(struct fd_table *ft, int fd, int min, bool cloexec);
/* dup3/dup2: newfd shares oldfd's file; what was at newfd is closed. */
int fdt_dup3(struct fd_table *ft, int oldfd, int newfd, bool cloexec);
/* The slot's close-on-exec flag (0/1) after setting it to set (-1: keep). */
int fdt_cloexec(struct fd_table *ft, int fd, int set);
int fdt_set_limit(struct fd_table *ft, uint64_t limit);
/* Take in the host fds condo was started with (not close-on-exec, not in
 * keep) at their own numbers. */
int fdt_adopt_inherited(struct fd_table *ft, const int *keep, size_t nkeep);
/* In a forked child: only the calling thread's view is left. */
void fdt_after_fork(struct fd_table *ft);
/* The slots a guest execve keeps (malloc'ed array), each file held so
 * that a thread closing it meanwhile cannot free its host number. */
int fdt_for_exec(struct fd_table *ft, struct fdt_entry **out, size_t *n);
void fdt_release_exec(struct fdt_entry *e, size_t n);

/* ---- threads, processes and signals ---- */

#define APP_NSIG 64
#define SIGBIT(sig) (1ull << ((sig) - 1))

/* struct sigaction as the riscv64 kernel sees it (no sa_restorer). */
struct guest_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t mask;
};
#define GUEST_SIG_DFL 0
#define GUEST_SIG_IGN 1

/* Signals a host handler recorded for the thread it ran on; the app loop
 * delivers them.  Single producer (the handler) interrupting a single
 * consumer (the same thread), so head/tail need only compiler ordering. */
#define SIGQ_LEN 32
struct sig_queue {
	siginfo_t info[SIGQ_LEN];
	volatile unsigned head, tail;
};

struct app_proc;

/* One guest thread: a host thread running a hart. */
struct app_thread {
	struct app_proc *proc;
	struct hart *hart;
	pid_t tid;
	gva_t clear_child_tid;   /* CLONE_CHILD_CLEARTID / set_tid_address */
	gva_t robust_list;
	uint64_t robust_len;
	uint64_t blocked;        /* the guest's signal mask */
	uint64_t saved_mask;     /* mask to restore after a sigsuspend-like call */
	bool saved_mask_valid;
	gva_t ss_sp;             /* sigaltstack */
	uint64_t ss_size;
	int ss_flags;
	struct sig_queue sigq;
	volatile bool sigq_throttled; /* sigq filled: host signals blocked until drained */
	/* A SIGSEGV sent (not a fault) while the guest blocks it: condo never
	 * blocks SIGSEGV on the host (direct access faults must reach it), so
	 * it is held here until the guest unblocks it. */
	bool segv_held, bus_held;
	siginfo_t segv_info, bus_info;
	uint64_t map_generation_seen;
	struct app_thread *next; /* in proc->threads */
};

/* One guest process (a host process; its threads share this). */
struct app_proc {
	struct app_config cfg;   /* how this process was started (for re-exec) */
	const char *name;        /* for messages: the program as given */
	struct app_mm mm;
	struct app_fs fs;
	struct fd_table fds;     /* the guest's descriptors */
	uint64_t rlim[RLIM_NLIMITS][2];    /* the guest's resource limits (cur, max), see prlimit64 */
	pthread_mutex_t lock;    /* threads, sigactions */
	struct app_thread *threads;
	int nthreads;
	struct guest_sigaction sigact[APP_NSIG + 1];
	gva_t sigreturn_tramp;   /* "li a7, 139; ecall" */
	char exe_guest_path[APP_PATH_MAX]; /* /proc/self/exe inside the root, or "" */
	char exe_host_path[APP_PATH_MAX];  /* the program on the host, when outside */
	bool trace;
	struct jail jail;        /* entered before the guest runs; its exe fd re-executes condo */
};

/* The guest thread running on this host thread. */
extern __thread struct app_thread *app_current;

/* app.c */
int app_loop(struct app_thread *t); /* runs until the thread exits; never returns a value */
void app_flush_other_harts(struct app_thread *t);
_Noreturn void app_exit_group(struct app_thread *t, int status);
_Noreturn void app_die_limit(struct app_thread *t, const char *what);
/* Make every hart notice changed mappings (TLB) and changed code. */
void app_mappings_changed(struct app_thread *t, bool code);

/* thread.c */
struct app_thread *thread_new(struct app_proc *p, struct hart *hart);
void thread_free(struct app_thread *t);
int64_t thread_clone(struct app_thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t tls,
		     gva_t ctid);
_Noreturn void thread_exit(struct app_thread *t, int status);
int64_t proc_fork(struct app_thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t tls,
		  gva_t ctid);

/* sys_proc.c: the guest's limits start as condo's own. */
void proc_init_rlimits(struct app_proc *p);

/* exec.c */
int64_t exec_guest(struct app_thread *t, gva_t path, gva_t argv, gva_t envp);

/* exec_state.c: the environment, descriptors and limits a guest execve
 * passes to the re-executed condo, in a memfd (st->fd, inheritable). */
struct exec_state {
	int fd;
	struct fdt_entry *fds; /* held, inheritable until exec_state_undo */
	size_t nfds;
};
int exec_state_write(struct app_proc *p, char *const *env, size_t nenv, struct exec_state *st);
/* After a failed host execve: everything back as it was. */
void exec_state_undo(struct exec_state *st);
/* In the new condo: take the state from fd (closed) into p; p->cfg.envp
 * is set.  -EINVAL with *why on a bad state. */
int exec_state_read(struct app_proc *p, int fd, const char **why);

/* signal.c */
void sig_init_proc(struct app_proc *p);
/* The host thread's mask for the guest's: never SIGSEGV or SIGBUS, which
 * condo's faults need; _exact: all of it (just before a host execve, which
 * hands the mask to the new condo). */
void sig_set_host_mask(uint64_t guest_mask);
void sig_set_host_mask_exact(uint64_t guest_mask);
uint64_t sig_host_mask(void);
int sig_set_action(struct app_proc *p, int sig, const struct guest_sigaction *act);
bool sig_pending(struct app_thread *t);
/* Is this what a fault raised by the CPU looks like (kernel si_code)? */
bool sig_is_fault(int sig, int code);
/* Queue si for the calling thread t, as its host handler would. */
/* Queue a held SIGSEGV or SIGBUS the guest no longer blocks. */
void sig_release_held(struct app_thread *t);
/* The held signals (for sigpending); one of them in set, taken (its
 * number, for sigtimedwait), or 0. */
uint64_t sig_held_set(const struct app_thread *t);
int sig_take_held(struct app_thread *t, uint64_t set, siginfo_t *si);
void sig_queue_self(struct app_thread *t, const siginfo_t *si);
/* Is a queued signal unblocked, so that a blocking call should not start? */
bool sig_deliverable(struct app_thread *t);
/* Deliver queued signals to guest handlers.  interrupted: the syscall result
 * was -EINTR (restart it when the handler has SA_RESTART and restart is true). */
void sig_deliver_pending(struct app_thread *t, bool interrupted, bool restart, uint64_t orig_a0);
/* A synchronous fault from the hart: deliver or die. */
void sig_fault(struct app_thread *t, uint64_t cause, uint64_t tval);
int64_t sig_return(struct app_thread *t);
_Noreturn void sig_die(struct app_thread *t, int sig, const char *report);
const char *sig_name(int sig);

/* syscall.c */
void syscall_dispatch(struct app_thread *t);
const char *syscall_name(uint64_t nr);

/* Helpers shared by the sys_*.c files: the syscall handler type. */
typedef int64_t (*sys_fn)(struct app_thread *t, const uint64_t *a);

#define SYS(name) int64_t sys_##name(struct app_thread *t, const uint64_t *a)

static inline struct app_mm *t_mm(struct app_thread *t)
{
	return &t->proc->mm;
}
static inline struct app_fs *t_fs(struct app_thread *t)
{
	return &t->proc->fs;
}
static inline struct fd_table *t_fds(struct app_thread *t)
{
	return &t->proc->fds;
}

/* A guest fd argument held for the rest of the handler: `FD_ARG(fd, a[0]);`
 * declares int fd, the host fd, or returns -EBADF; the reference is
 * dropped when the handler returns. */
struct fd_ref {
	struct app_file *file;
};
static inline void fd_ref_release(struct fd_ref *r)
{
	fdt_put(r->file);
}
#define FD_ARG(name, guest)                                                                 \
	__attribute__((cleanup(fd_ref_release))) struct fd_ref name##_ref = {               \
		fdt_get(t_fds(t), (int)(guest))                                             \
	};                                                                                  \
	if (!name##_ref.file)                                                               \
		return -EBADF;                                                              \
	int name = name##_ref.file->host_fd
/* A dirfd argument: AT_FDCWD passes through, a bad fd becomes -1, which
 * fails (EBADF) only if a relative path makes it matter, as on Linux. */
#define DIRFD_ARG(name, guest)                                                              \
	__attribute__((cleanup(fd_ref_release))) struct fd_ref name##_ref = {               \
		(int)(guest) == AT_FDCWD ? NULL : fdt_get(t_fds(t), (int)(guest))           \
	};                                                                                  \
	int name = name##_ref.file ? name##_ref.file->host_fd                               \
				   : (int)(guest) == AT_FDCWD ? AT_FDCWD : -1
/* A new host fd (or -errno) given to the guest; cloexec: the guest's flag. */
static inline int64_t guest_fd(struct app_thread *t, int64_t host_fd, bool cloexec)
{
	return host_fd < 0 ? host_fd : fdt_install(t_fds(t), (int)host_fd, cloexec);
}
/* -errno of a host call that returned -1. */
int64_t host_ret(int64_t r);

#endif
