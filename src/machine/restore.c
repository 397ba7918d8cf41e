/* Restoring a snapshot (docs/snapshot.md): the manifest read and checked,
 * the configuration taken from it, a new overlay made over each frozen
 * disk, the state file read and its sections checked (all before the
 * jail); then, in the built board, memory mapped from the memory file and
 * the state loaded (vm_restore_apply) instead of a boot. */
#define _GNU_SOURCE
#include "condo/block.h"
#include "condo/dirtylog.h"
#include "condo/io.h"
#include "condo/jail.h"
#include "condo/log.h"
#include "condo/snapshot.h"
#include "machine/restore.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX (64u << 20) /* far above any board's state: a bound on a hostile file */

static int bad(const char *dir, const char *why)
{
	log_err("restore", "%s: %s", dir, why);
	return -1;
}

/* A path of the manifest, relative to the snapshot's directory unless
 * absolute; kept for the run. */
static char *resolve(const char *dir, const char *path)
{
	char *p = NULL;

	if (path[0] == '/')
		return strdup(path);
	return asprintf(&p, "%s/%s", dir, path) < 0 ? NULL : p;
}

/* s (malloc'd, or NULL) kept in the pool for the VM's life. */
static char *own(struct vm_strings *keep, char *s)
{
	if (s && keep->n == VM_STRINGS_MAX) {
		free(s);
		return NULL;
	}
	if (s)
		keep->s[keep->n++] = s;
	return s;
}

void vm_strings_free(struct vm_strings *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->s[i]);
	p->n = 0;
}

static const char *str_or_null(struct vm_strings *keep, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? own(keep, strdup(json_string_value(v))) : NULL;
}

/* A writable disk runs on a new top image: at the path the user gave
 * (which must not exist: nothing is overwritten), or a temporary one that
 * is gone with the VM.  Over backing when there is one (a restore's
 * frozen disk, a migrated overlay's shared image), else empty of size. */
static int make_top(const char *where, struct vm_drive *d, const char *backing,
		    enum block_format backing_format, uint64_t size, const char *given,
		    struct vm_strings *keep)
{
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	enum block_format format = backing ? BLOCK_FORMAT_QCOW2 : (enum block_format)d->format;

	if (given) {
		if (access(given, F_OK) == 0) {
			log_err("restore", "--drive %s: the file exists (the VM's disk goes on in a "
				"new image; remove it or name another)", given);
			return -1;
		}
		d->file = own(keep, strdup(given));
	} else {
		int fd;

		snprintf(tmpl, sizeof(tmpl), "%s/condo-disk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		fd = mkstemp(tmpl);
		if (fd < 0) {
			log_err("restore", "%s: cannot make a temporary disk: %s", tmpl,
				strerror(errno));
			return -1;
		}
		close(fd);
		unlink(tmpl);
		d->file = own(keep, strdup(tmpl));
		d->temporary = true;
	}
	if (!d->file || block_create(d->file, format, backing ? 0 : size, backing, backing_format) < 0)
		return bad(where, "cannot make a disk image for the VM");
	d->format = (int)format;
	return 0;
}

/* copy=on: the disk goes on in a whole copy of the frozen one at the
 * path the user gave (which must not exist), on the frozen disk's own
 * backing file, so nothing of the VM's needs the snapshot afterwards. */
static int make_copy(const char *where, struct vm_drive *d, const char *given,
		     struct vm_strings *keep)
{
	int dst = open(given, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err = dst < 0 ? -errno : copy_sparse_file(d->file, dst);

	if (dst >= 0)
		close(dst);
	if (err) {
		if (dst >= 0)
			unlink(given);
		log_err("restore", "--drive %s,copy=on: %s", given,
			err == -EEXIST ? "the file exists (remove it or name another)"
				       : strerror(-err));
		return -1;
	}
	d->file = own(keep, strdup(given));
	return d->file ? 0 : bad(where, "out of memory");
}

/* Where each disk comes from: a restore's frozen copies (paths relative
 * to the snapshot), or a migration's source (its top image's data comes
 * down the stream, over the same backing file; or the same file, shared). */
static int take_drives(const char *where, json_t *cfgj, struct vm_config *cfg, bool incoming,
		       struct vm_strings *keep)
{
	json_t *drives = json_object_get(cfgj, "drives");
	bool shared = json_is_true(json_object_get(cfgj, "shared_disks"));
	const char *given[VM_MAX_DRIVES] = { 0 };
	struct vm_drive asked[VM_MAX_DRIVES] = { 0 }; /* what --drive said */
	size_t i;
	json_t *dj;

	if (!json_is_array(drives) || json_array_size(drives) > VM_MAX_DRIVES)
		return bad(where, "the drives are malformed");
	if (cfg->ndrives > (int)json_array_size(drives))
		return bad(where, "more --drive options than the VM has disks");
	for (int k = 0; k < cfg->ndrives; k++) {
		given[k] = cfg->drives[k].file;
		asked[k] = cfg->drives[k];
	}
	json_array_foreach(drives, i, dj) {
		struct vm_drive *d = &cfg->drives[i];
		const char *file = json_string_value(json_object_get(dj, "file"));
		const char *fmt = json_string_value(json_object_get(dj, "format"));
		const char *backing = json_string_value(json_object_get(dj, "backing"));
		const char *bfmt = json_string_value(json_object_get(dj, "backing_format"));
		json_int_t size = json_integer_value(json_object_get(dj, "size"));
		enum block_format format, backing_format = BLOCK_FORMAT_AUTO;

		if (!file || !fmt || block_format_parse(fmt, &format) < 0 || size <= 0 ||
		    (bfmt && block_format_parse(bfmt, &backing_format) < 0))
			return bad(where, "the drives are malformed");
		/* The VM's owner names every host file the VM opens: a snapshot
		 * (or a migration's source) names only files in the snapshot; a
		 * read-only disk it names elsewhere, or a shared disk of a
		 * migration, is given again with --drive (docs/snapshot.md). */
		bool ro = json_is_true(json_object_get(dj, "readonly"));
		bool opened = !incoming || ro || shared;
		bool named_here = given[i] && (ro || (incoming && shared));
		bool inside = !incoming && !strchr(file, '/') && strcmp(file, "..") && strcmp(file, ".");

		if (opened && !named_here && !inside) {
			log_err("restore", "%s: disk %zu (%s) is %s: name it with --drive file=PATH "
				"to use it", where, i, file,
				incoming ? "a file of the source's" : "outside the snapshot");
			return -1;
		}
		*d = (struct vm_drive){ .file = own(keep, named_here ? strdup(given[i])
							  : incoming ? strdup(file)
								     : resolve(where, file)),
					.format = (int)format,
					.readonly = ro,
					.cache = (int)json_integer_value(json_object_get(dj, "cache")),
					.discard = json_is_true(json_object_get(dj, "discard")) };
		if (d->cache < VM_CACHE_WRITEBACK || d->cache > VM_CACHE_UNSAFE)
			d->cache = VM_CACHE_WRITEBACK;
		if (given[i]) /* change tracking is the new host's business */
			d->dirty_bitmap = asked[i].dirty_bitmap;
		if (asked[i].copy && (incoming || d->readonly)) {
			log_err("restore", "--drive %s: copy=on is for a restore's writable disk",
				given[i]);
			return -1;
		}
		if (named_here || d->readonly)
			continue;
		if (!d->file)
			return bad(where, "out of memory");
		if (asked[i].copy) {
			if (make_copy(where, d, given[i], keep) < 0)
				return -1;
			continue;
		}
		if (!incoming && make_top(where, d, d->file, format, 0, given[i], keep) < 0)
			return -1;
		if (incoming && make_top(where, d, backing, backing_format, (uint64_t)size,
					 given[i], keep) < 0)
			return -1;
	}
	cfg->ndrives = (int)json_array_size(drives);
	return 0;
}

static int take_nets(const char *dir, json_t *cfgj, struct vm_config *cfg,
		     struct vm_strings *keep)
{
	json_t *nets = json_object_get(cfgj, "nets");
	size_t n = json_array_size(nets);
	char err[160];

	if (!json_is_array(nets) || n > NET_MAX_NICS)
		return bad(dir, "the manifest's nets are malformed");
	if (cfg->nnets) { /* given again here: other back ends, same cards */
		if ((size_t)cfg->nnets != n)
			return bad(dir, "--net: the snapshot has another number of NICs");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		/* kept: the parsed option points into its text */
		const char *spec = own(keep, json_is_string(json_array_get(nets, i))
						     ? strdup(json_string_value(json_array_get(nets, i)))
						     : NULL);

		if (!spec || net_parse_opts(spec, &cfg->nets[i], err, sizeof(err)) < 0) {
			log_err("restore", "%s: the snapshot's NIC %zu: %s", dir, i,
				spec ? err : "malformed");
			return -1;
		}
		cfg->net_specs[i] = spec;
	}
	cfg->nnets = (int)n;
	return 0;
}

int vm_config_take(const char *dir, void *json, struct vm_config *cfg, bool incoming,
		   struct vm_strings *keep)
{
	json_t *c = json;
	json_int_t mem = json_integer_value(json_object_get(c, "mem"));
	json_int_t cpus = json_integer_value(json_object_get(c, "cpus"));

	if (mem < (16 << 20) || mem > (64ll << 30) || mem % GUEST_PAGE_SIZE || cpus < 1 ||
	    cpus > VM_MAX_CPUS)
		return bad(dir, "the manifest's board is malformed (memory size or harts)");
	cfg->mem_size = (uint64_t)mem;
	cfg->cpus = (int)cpus;
	cfg->kernel = str_or_null(keep, c, "kernel");
	cfg->initrd = str_or_null(keep, c, "initrd");
	cfg->append = str_or_null(keep, c, "append");
	cfg->bios = str_or_null(keep, c, "bios");
	cfg->bios_none = json_is_true(json_object_get(c, "bios_none"));
	cfg->kernel_raw = json_is_true(json_object_get(c, "kernel_raw"));
	if (!cfg->engine_given) {
		cfg->engine = (int)json_integer_value(json_object_get(c, "engine"));
		cfg->jit_cache = (uint64_t)json_integer_value(json_object_get(c, "jit_cache"));
		cfg->jit_hot = (uint64_t)json_integer_value(json_object_get(c, "jit_threshold"));
	}
	return take_drives(dir, c, cfg, incoming, keep) || take_nets(dir, c, cfg, keep) ? -1 : 0;
}

/* The state file, whole, each section checked against the manifest. */
static int take_state(const char *dir, json_t *sections, struct vm_restore *rs, uint64_t words)
{
	char *path = resolve(dir, SNAPSHOT_STATE);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	size_t *offs[] = { &rs->cpu_off, &rs->devs_off, NULL, &rs->index_off };
	size_t *lens[] = { &rs->cpu_len, &rs->devs_len, NULL, &rs->index_len };
	static const char *const names[] = { "cpu", "devices", "memory-map", "memory-index" };
	ssize_t n;

	free(path);
	if (fd < 0 || fstat(fd, &st) < 0)
		return bad(dir, "cannot open " SNAPSHOT_STATE);
	if (st.st_size > STATE_MAX || !(rs->state = malloc((size_t)st.st_size + 1)) ||
	    (n = pread(fd, rs->state, (size_t)st.st_size, 0)) != st.st_size) {
		close(fd);
		return bad(dir, SNAPSHOT_STATE " is unreadable or too large");
	}
	close(fd);
	if (!json_is_array(sections) || json_array_size(sections) != 4)
		return bad(dir, "the manifest's sections are malformed");
	for (int i = 0; i < 4; i++) {
		json_t *s = json_array_get(sections, (size_t)i);
		json_int_t off = json_integer_value(json_object_get(s, "offset"));
		json_int_t len = json_integer_value(json_object_get(s, "size"));
		json_int_t crc = json_integer_value(json_object_get(s, "crc32"));
		const char *name = json_string_value(json_object_get(s, "name"));

		if (!name || strcmp(name, names[i]) || off < 0 || len < 0 || off > st.st_size ||
		    len > st.st_size - off)
			return bad(dir, "the manifest's sections do not match " SNAPSHOT_STATE);
		if (snapshot_crc(0, rs->state + off, (size_t)len) != (uint32_t)crc) {
			log_err("restore", "%s: the %s section of " SNAPSHOT_STATE
				" is corrupt (CRC mismatch)", dir, name);
			return -1;
		}
		if (offs[i]) {
			*offs[i] = (size_t)off;
			*lens[i] = (size_t)len;
		} else {
			struct state_buf b = state_reader(rs->state + off, (size_t)len);

			if ((uint64_t)len != words * 8)
				return bad(dir, "the memory map has the wrong size");
			rs->map = malloc(words * 8);
			if (!rs->map)
				return bad(dir, "out of memory");
			for (uint64_t w = 0; w < words; w++)
				rs->map[w] = state_get_u64(&b);
		}
	}
	return 0;
}

static int take_memory(const char *dir, json_t *mem, const struct vm_config *cfg,
		       struct vm_restore *rs)
{
	const char *file = json_string_value(json_object_get(mem, "file"));
	char *path;
	struct stat st;

	rs->compressed = json_is_true(json_object_get(mem, "compressed"));
	rs->mem_crc = (uint32_t)json_integer_value(json_object_get(mem, "crc32"));
	if (!file || strcmp(file, rs->compressed ? SNAPSHOT_MEMORY_Z : SNAPSHOT_MEMORY))
		return bad(dir, "the manifest's memory is malformed");
	path = resolve(dir, file);
	rs->mem_fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (rs->mem_fd < 0 || fstat(rs->mem_fd, &st) < 0)
		return bad(dir, "cannot open the memory file");
	if (!rs->compressed && (uint64_t)st.st_size != cfg->mem_size)
		return bad(dir, "the memory file is truncated (its size is not the guest's RAM)");
	if (rs->compressed) {
		struct state_buf b = state_reader(rs->state + rs->index_off, rs->index_len);

		if (snapshot_index_read(&b, cfg->mem_size, rs->map, (uint64_t)st.st_size, &rs->runs,
					&rs->nruns) < 0)
			return bad(dir, b.why);
	}
	return 0;
}

/* dir's manifest, read and of this format: magic and version.  NULL
 * after a one-line error. */
static json_t *manifest_load(const char *dir)
{
	char *path = resolve(dir, SNAPSHOT_MANIFEST);
	json_error_t jerr;
	json_t *m = path ? json_load_file(path, 0, &jerr) : NULL;
	const char *magic = json_string_value(json_object_get(m, "magic"));
	json_int_t version = json_integer_value(json_object_get(m, "version"));

	free(path);
	if (!m)
		log_err("restore", "%s: no readable %s (%s)", dir, SNAPSHOT_MANIFEST,
			access(dir, F_OK) ? strerror(errno) : jerr.text);
	else if (!magic || strcmp(magic, SNAPSHOT_MAGIC))
		bad(dir, "not a condo snapshot (wrong magic)");
	else if (version != SNAPSHOT_VERSION)
		log_err("restore", "%s: snapshot version %lld; this condo reads version %d", dir,
			(long long)version, SNAPSHOT_VERSION);
	else
		return m;
	json_decref(m);
	return NULL;
}

int vm_restore_open(const char *given, struct vm_config *cfg, struct vm_restore *rs,
		    struct vm_strings *keep)
{
	/* Absolute: the new overlays name their frozen images by it. */
	char *abs = realpath(given, NULL);
	const char *dir = abs ? abs : given;
	json_t *m = manifest_load(dir);
	int r = -1;

	*rs = (struct vm_restore){ .mem_fd = -1, .uffd = -1, .verify = cfg->restore_verify };
	if (m && vm_config_take(dir, json_object_get(m, "config"), cfg, false, keep) == 0 &&
	    take_state(dir, json_object_get(m, "sections"), rs,
		       (cfg->mem_size / GUEST_PAGE_SIZE + 63) / 64) == 0 &&
	    take_memory(dir, json_object_get(m, "memory"), cfg, rs) == 0)
		r = 0;
	if (r == 0 && rs->compressed && !rs->verify && (rs->uffd = snapshot_uffd_open()) < 0)
		log_info("restore", "no userfaultfd on this host: the compressed memory is read in "
			 "at once");
	json_decref(m);
	free(abs);
	return r;
}

void vm_restore_close(struct vm_restore *rs)
{
	if (rs->mem_fd >= 0)
		close(rs->mem_fd);
	if (rs->uffd >= 0)
		close(rs->uffd);
	free(rs->state);
	free(rs->map);
	free(rs->runs);
	*rs = (struct vm_restore){ .mem_fd = -1, .uffd = -1 };
}

static void lazy_thread_start(void *ctx)
{
	struct vm *vm = ctx;

	if (jail_thread(vm->jail, JAIL_VM_IO) < 0)
		vm_shutdown(vm, VM_EXIT_ERROR, false);
}

static void lazy_error(void *ctx, const char *why)
{
	log_err("restore", "%s: the VM ends", why);
	vm_shutdown(ctx, VM_EXIT_ERROR, false);
}

/* Guest RAM from the memory file: mapped copy-on-write over the board's
 * reservation (pages come in as the guest touches them, and clones share
 * the ones none has written); compressed, served run by run as the guest
 * touches them (userfaultfd), or decompressed up front. */
static int restore_memory(struct vm *vm, const struct vm_restore *rs)
{
	uint32_t crc;

	if (rs->compressed && rs->uffd >= 0) {
		int err = snapshot_uffd_register(rs->uffd, vm->ram.host, vm->ram.size);

		vm->lazy = err ? NULL
			       : snapshot_lazy_start(rs->uffd, rs->mem_fd, vm->ram.host, vm->ram.size,
						     rs->runs, rs->nruns,
						     vm->jail ? lazy_thread_start : NULL, lazy_error,
						     vm);
		if (!vm->lazy) {
			log_err("restore", "cannot serve the memory lazily: %s",
				strerror(err ? -err : ENOMEM));
			return -1;
		}
		crc = rs->mem_crc; /* each frame is checked as it is read */
	} else if (rs->compressed) {
		if (snapshot_memory_read_zstd(rs->mem_fd, vm->ram.host, rs->runs, rs->nruns, &crc) <
		    0) {
			log_err("restore", "the compressed memory is truncated or corrupt");
			return -1;
		}
	} else {
		if (rs->verify && (snapshot_memory_crc(rs->mem_fd, vm->ram.size, rs->map, &crc) < 0 ||
				   crc != rs->mem_crc)) {
			log_err("restore", "the memory file is corrupt (CRC mismatch)");
			return -1;
		}
		crc = rs->mem_crc;
		if (mmap(vm->ram.host, vm->ram.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, rs->mem_fd, 0) == MAP_FAILED) {
			log_err("restore", "cannot map the memory file: %s", strerror(errno));
			return -1;
		}
	}
	if (crc != rs->mem_crc) {
		log_err("restore", "the memory file is corrupt (CRC mismatch)");
		return -1;
	}
	dirty_log_set_touched(vm->ram.dirty, rs->map);
	return 0;
}

int vm_restore_apply(struct vm *vm, const struct vm_restore *rs)
{
	struct state_buf cpu = state_reader(rs->state + rs->cpu_off, rs->cpu_len);
	struct state_buf devs = state_reader(rs->state + rs->devs_off, rs->devs_len);

	if (restore_memory(vm, rs) < 0)
		return -1;
	if (vm_state_load(vm, &cpu, &devs) < 0) {
		log_err("restore", "the snapshot's state does not fit this board: %s",
			cpu.failed ? cpu.why : devs.why);
		return -1;
	}
	return 0;
}

/* condo snapshot --check: everything a restore reads, and all of memory. */
int vm_snapshot_check(const char *dir)
{
	struct vm_config cfg = { 0 };
	struct vm_restore rs = { .mem_fd = -1, .uffd = -1 };
	json_t *m = manifest_load(dir), *c, *drives, *d;
	uint8_t *ram = MAP_FAILED;
	uint32_t crc;
	size_t i;
	int r = -1;

	c = json_object_get(m, "config");
	cfg.mem_size = (uint64_t)json_integer_value(json_object_get(c, "mem"));
	if (!m)
		goto out;
	if (!cfg.mem_size || cfg.mem_size % GUEST_PAGE_SIZE || cfg.mem_size > (64ull << 30)) {
		bad(dir, "the manifest's board is malformed");
		goto out;
	}
	if (take_state(dir, json_object_get(m, "sections"), &rs,
		       (cfg.mem_size / GUEST_PAGE_SIZE + 63) / 64) < 0 ||
	    take_memory(dir, json_object_get(m, "memory"), &cfg, &rs) < 0)
		goto out;
	if (rs.compressed) {
		ram = mmap(NULL, cfg.mem_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (ram == MAP_FAILED ||
		    snapshot_memory_read_zstd(rs.mem_fd, ram, rs.runs, rs.nruns, &crc) < 0) {
			bad(dir, ram == MAP_FAILED ? "out of memory"
						   : "the compressed memory is truncated or corrupt");
			goto out;
		}
	} else if (snapshot_memory_crc(rs.mem_fd, cfg.mem_size, rs.map, &crc) < 0) {
		bad(dir, "the memory file is unreadable");
		goto out;
	}
	if (crc != rs.mem_crc) {
		bad(dir, "the memory file is corrupt (CRC mismatch)");
		goto out;
	}
	drives = json_object_get(c, "drives");
	json_array_foreach(drives, i, d) {
		const char *file = json_string_value(json_object_get(d, "file"));
		char *p = file ? resolve(dir, file) : NULL;
		struct block_dev *bd = p ? block_open(p, BLOCK_FORMAT_AUTO, true) : NULL;

		free(p);
		if (!bd) {
			log_err("restore", "%s: disk %zu (%s) cannot be opened", dir, i,
				file ? file : "unnamed");
			goto out;
		}
		block_close(bd);
	}
	r = 0;
out:
	if (ram != MAP_FAILED)
		munmap(ram, cfg.mem_size);
	vm_restore_close(&rs);
	json_decref(m);
	return r;
}
