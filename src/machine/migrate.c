/* Live migration (docs/migration.md): the source sends its configuration,
 * then guest RAM in pre-copy rounds while the guest runs (each round the
 * pages written since the last, from the dirty-page log), then pauses,
 * sends the last dirty pages, the state sections and the disks' data, and
 * waits for the destination's word that it has it all.  Only then does
 * the source end; on any failure it resumes and the guest never notices.
 *
 * The stream is records: a 4-byte tag, a u64 length (little-endian) and
 * that many bytes.
 *   HEAD  the configuration (JSON, as a snapshot's manifest has it)
 *   PAGE  u64 first page, then the pages
 *   ZERO  u64 first page, u64 count: pages that read as zeros
 *   CPU_  DEVS  the state sections
 *   DISK  u32 disk, u64 offset, then the bytes (guest view, top layer's)
 *   DSKZ  u32 disk, u64 offset, u64 length: zeros over the backing file
 *   END_  nothing: all sent
 * and the destination answers one byte, 'K', once it has loaded it all. */
#include "condo/block.h"
#include "condo/dirtylog.h"
#include "condo/io.h"
#include "condo/log.h"
#include "condo/snapshot.h"
#include "machine/migrate.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS_MAX  30
#define FINAL_PAGES 256 /* 1 MiB: few enough to send with the guest paused */
#define RUN_PAGES   64
#define DISK_CHUNK  (1u << 20)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- records ---- */

static int send_head(int fd, const char tag[4], uint64_t len)
{
	uint8_t h[12];

	memcpy(h, tag, 4);
	for (int i = 0; i < 8; i++)
		h[4 + i] = (uint8_t)(len >> (8 * i));
	return write_all(fd, h, sizeof(h));
}

static int send_record(int fd, const char tag[4], const void *p, uint64_t len)
{
	int err = send_head(fd, tag, len);

	return err ? err : write_all(fd, p, len);
}

int migrate_read(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int migrate_read_head(int fd, char tag[4], uint64_t *len)
{
	uint8_t h[12];

	if (migrate_read(fd, h, sizeof(h)) < 0)
		return -1;
	memcpy(tag, h, 4);
	*len = 0;
	for (int i = 0; i < 8; i++)
		*len |= (uint64_t)h[4 + i] << (8 * i);
	return 0;
}

/* ---- the source ---- */

struct source {
	struct vm *vm;
	int fd;
	uint64_t words, *set;
	uint64_t sent_pages;
};

/* A run of pages that read as zeros goes as ZERO (first, count): the
 * destination has nothing to copy (freed pages, tmpfs full of zeros). */
static int send_run(struct source *s, uint64_t first, uint64_t n, bool zero)
{
	uint64_t hdr[2] = { first, n };
	int err;

	if (zero)
		return send_record(s->fd, "ZERO", hdr, sizeof(hdr));
	err = send_head(s->fd, "PAGE", 8 + n * GUEST_PAGE_SIZE);
	err = err ? err : write_all(s->fd, &hdr[0], 8);
	err = err ? err : write_all(s->fd, s->vm->ram.host + first * GUEST_PAGE_SIZE,
				    n * GUEST_PAGE_SIZE);
	if (!err)
		s->sent_pages += n;
	return err;
}

static int send_pages(struct source *s, const uint64_t *set)
{
	uint64_t npages = s->vm->ram.size / GUEST_PAGE_SIZE, first = 0, n = 0;
	bool zero = false;
	int err = 0;

	for (uint64_t pg = 0; pg <= npages && !err; pg++) {
		bool in = pg < npages && (set[pg / 64] >> (pg % 64) & 1);
		bool z = in && snapshot_page_is_zero(s->vm->ram.host + pg * GUEST_PAGE_SIZE);

		if (in && n && z == zero && first + n == pg && n < RUN_PAGES) {
			n++;
			continue;
		}
		if (n)
			err = send_run(s, first, n, zero);
		first = pg;
		n = in;
		zero = z;
	}
	return err;
}

/* With the harts parked: take the dirty set, and make every hart's next
 * store to any page mark it again (dirtylog.h). */
static uint64_t take_dirty(struct source *s, uint64_t *set)
{
	uint64_t n = dirty_log_collect(s->vm->ram.dirty, set);

	for (int i = 0; i < s->vm->ncpus; i++)
		cpu_flush_requests(s->vm->harts[i].hart, CPU_FLUSH_WRITE_TLB);
	return n;
}

/* A disk's data, as the guest sees it, where its top image holds some
 * (the rest comes from backing files both hosts share, or is zeros):
 * DISK records with the bytes; DSKZ (disk, offset, length) where the top
 * image says zeros over a backing file. */
static int send_disk(struct source *s, int i)
{
	struct block_dev *bd = s->vm->disks[i];
	struct block_info info = { 0 };
	uint8_t *buf = malloc(DISK_CHUNK + 12);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	if (bd->ops->info)
		bd->ops->info(bd, &info);
	for (uint64_t off = 0; off < bd->size && !err;) {
		uint64_t len = bd->size - off > DISK_CHUNK ? DISK_CHUNK : bd->size - off, host;
		enum block_extent kind = BLOCK_EXTENT_DATA;
		uint32_t idx = (uint32_t)i;
		struct iovec iov;

		if (bd->ops->status && bd->ops->status(bd, off, &len, &host, &kind) < 0)
			kind = BLOCK_EXTENT_DATA;
		if (!len)
			break;
		memcpy(buf, &idx, 4);
		memcpy(buf + 4, &off, 8);
		if (kind == BLOCK_EXTENT_ZERO && info.backing_path) {
			memcpy(buf + 12, &len, 8);
			err = send_record(s->fd, "DSKZ", buf, 20);
		} else if (kind == BLOCK_EXTENT_DATA || kind == BLOCK_EXTENT_COMPRESSED) {
			iov = (struct iovec){ buf + 12, len };
			err = block_preadv(bd, &iov, 1, off);
			err = err ? err : send_record(s->fd, "DISK", buf, 12 + len);
		}
		off += len;
	}
	free(buf);
	return err;
}

static int send_state(struct source *s, bool shared)
{
	struct state_buf cpu = { 0 }, devs = { 0 };
	int err;

	vm_state_save(s->vm, &cpu, &devs);
	err = cpu.failed || devs.failed ? -EIO : 0;
	err = err ? err : send_record(s->fd, "CPU_", cpu.data, cpu.len);
	err = err ? err : send_record(s->fd, "DEVS", devs.data, devs.len);
	for (int i = 0; i < s->vm->cfg->ndrives && !err && !shared; i++)
		if (!s->vm->cfg->drives[i].readonly)
			err = send_disk(s, i);
	state_free(&cpu);
	state_free(&devs);
	return err;
}

static json_t *migrate_config(struct vm *vm, bool shared)
{
	json_t *c = vm_config_json(vm), *drives = json_object_get(c, "drives");

	/* where each disk's data lives: the destination makes its own top
	 * image over the same backing file (images are shared), or opens the
	 * same file (shared disks) */
	for (int i = 0; i < vm->cfg->ndrives; i++) {
		const char *image = vm->cfg->drives[i].host_path;
		struct block_info info = { 0 };
		json_t *d = json_array_get(drives, (size_t)i);
		char path[4096];

		if (vm->disks[i]->ops->info)
			vm->disks[i]->ops->info(vm->disks[i], &info);
		if (!info.backing_file)
			continue;
		/* absolute: against the image's absolute path, not our cwd */
		if (!image || block_resolve_backing(image, info.backing_file, path, sizeof(path)) < 0)
			snprintf(path, sizeof(path), "%s", info.backing_path);
		json_object_set_new(d, "backing", json_string(path));
		json_object_set_new(d, "backing_format",
				    json_string(block_format_name(info.backing_format)));
	}
	json_object_set_new(c, "shared_disks", json_boolean(shared));
	return c;
}

json_t *vm_migrate_command(struct vm *vm, struct control_req *r)
{
	bool shared = json_is_true(json_object_get(r->args, "shared_disks"));
	struct source s = { .vm = vm, .fd = r->nfds == 1 ? r->fds[0] : -1 };
	double t0 = now_ms(), t_pause = 0, t_end;
	uint64_t n = 0, *tmp;
	int round = 0, err = 0;
	char *head;
	json_t *cfg;
	char ack = 0;

	if (s.fd < 0)
		return control_error("migrate: send the connection to the destination with the request");
	if (vm->paused)
		return control_error("migrate: the VM is paused; resume it first");
	s.words = dirty_log_words(vm->ram.size / GUEST_PAGE_SIZE);
	s.set = calloc(s.words, 8);
	tmp = calloc(s.words, 8);
	cfg = migrate_config(vm, shared);
	head = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	if (!s.set || !tmp || !head) {
		free(s.set);
		free(tmp);
		free(head);
		return control_error("out of memory");
	}
	err = send_record(s.fd, "HEAD", head, strlen(head));
	free(head);
	/* Round 0: every page written since the VM began; then what each
	 * round dirtied, until little is left or the guest writes faster
	 * than we send. */
	if (!err && vm_park_harts(vm) == 0) {
		take_dirty(&s, tmp);
		memcpy(s.set, vm->ram.dirty->touched, s.words * 8);
		vm_unpark_harts(vm);
		err = send_pages(&s, s.set);
		log_debug("migrate", "round 0 sent at %.1f ms: %llu pages", now_ms() - t0,
			  (unsigned long long)s.sent_pages);
		for (round = 1; !err && round < ROUNDS_MAX; round++) {
			if (vm_park_harts(vm) < 0) {
				err = -ECANCELED;
				break;
			}
			n = take_dirty(&s, s.set);
			log_debug("migrate", "round %d at %.1f ms: %llu dirty pages", round,
				  now_ms() - t0, (unsigned long long)n);
			if (n <= FINAL_PAGES)
				break; /* harts stay parked: the last round is paused */
			vm_unpark_harts(vm);
			err = send_pages(&s, s.set);
		}
	} else if (!err) {
		err = -ECANCELED;
	}
	if (!err) {
		t_pause = now_ms();
		/* Parked already; hold the devices too, then what they wrote. */
		if (vm_pause(vm) < 0)
			err = -ECANCELED;
		dirty_log_collect(vm->ram.dirty, tmp);
		for (uint64_t w = 0; w < s.words; w++)
			s.set[w] |= tmp[w];
		err = err ? err : send_pages(&s, s.set);
		err = err ? err : send_state(&s, shared);
		err = err ? err : send_record(s.fd, "END_", NULL, 0);
		if (!err && (migrate_read(s.fd, &ack, 1) < 0 || ack != 'K'))
			err = -EPROTO;
	}
	free(s.set);
	free(tmp);
	if (err) {
		/* Whatever went wrong, the guest runs on here. */
		log_err("migrate", "failed (%s): the VM runs on here",
			err == -EPROTO ? "the destination did not take the VM" : strerror(-err));
		if (vm->paused)
			vm_resume(vm);
		else
			vm_unpark_harts(vm);
		return control_error(err == -EPROTO ? "the destination did not take the VM"
						    : "the migration stream broke; the VM runs on here");
	}
	t_end = now_ms();
	log_info("migrate", "sent in %.1f ms, %d rounds, %llu pages; the guest was paused %.1f ms",
		 t_end - t0, round + 1, (unsigned long long)s.sent_pages, t_end - t_pause);
	vm_shutdown(vm, 0, false); /* the guest lives on at the destination */
	return json_pack("{s:b,s:f,s:f,s:i,s:I}", "ok", true, "total_ms", t_end - t0, "downtime_ms",
			 t_end - t_pause, "rounds", round + 1, "pages", (json_int_t)s.sent_pages);
}
