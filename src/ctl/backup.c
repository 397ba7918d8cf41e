/* The backup job (docs/backup.md): a tenant's VMs, or one, into a
 * repository (repo.c).
 *
 * What a backup holds: the tenant (name, quotas), each VM's configuration
 * and the chunks of its disk overlay, and the images those overlays lie
 * on, so a backup restores on a host that never had them.  Each disk is
 * read with its VMM paused (the qcow2 file is then as consistent as after
 * a power cut, crash-consistent), granule by granule:
 *  - full: every granule the overlay itself holds;
 *  - incremental: when the disk's change-tracking bitmap is relative to
 *    the tenant's newest backup in this repository, only the granules it
 *    marks are read, and the rest come from that backup's manifest.
 * Either way a chunk already in the repository is not written again, so
 * a full backup of an unchanged disk stores nothing new.  An image is
 * read once per repository: later manifests copy its chunk list. */
#define _GNU_SOURCE
#include "ctl/backup.h"
#include "condo/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOLD_TRIES 300 /* 200 ms apart: a minute for a snapshot to let go of the VM */

struct backup {
	struct ctl *c;
	struct repo repo;
	struct job_meter m;
	char id[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1], vm[CTL_ID_LEN + 1];
	bool full;
	char nbd[CTL_NBD_URI_MAX]; /* the disk goes to this NBD export; "": the repository */
	uint64_t granules_sent, bytes_sent; /* to the export */
	json_t *parent; /* the tenant's newest backup here (to the same target), or NULL */
	char parent_id[CTL_ID_LEN + 1];
};

/* What the image itself holds of [off, off+len): 1 data (read it), 0
 * nothing (all from the backing file), -1 zeros over a backing file
 * (or, without one, nothing either); -errno. */
static int granule_kind(struct block_dev *bd, bool backed, uint64_t off, uint64_t len)
{
	bool zero = false, backing = false;

	while (len) {
		uint64_t n = len, host;
		enum block_extent kind;
		int err = block_status(bd, off, &n, &host, &kind);

		if (err)
			return err;
		if (!n)
			return -EIO;
		if (kind == BLOCK_EXTENT_DATA || kind == BLOCK_EXTENT_COMPRESSED)
			return 1;
		if (kind == BLOCK_EXTENT_ZERO)
			zero = true;
		else
			backing = true;
		off += n;
		len -= n;
	}
	if (zero && backing)
		return 1; /* a mix: the merged view, read through the chain */
	return zero && backed ? -1 : 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* The previous manifest's entries by granule: an array of granules
 * (freed by the caller), NULL entries where it had none. */
static json_t **index_entries(json_t *prev, uint64_t granules)
{
	json_t **by = calloc(granules ? granules : 1, sizeof(*by));
	size_t i;
	json_t *e;

	if (!by)
		return NULL;
	json_array_foreach(prev, i, e) {
		json_int_t g = json_integer_value(json_array_get(e, 0));
		if (g >= 0 && (uint64_t)g < granules)
			by[g] = e;
	}
	return by;
}

json_t *backup_disk_chunks(struct repo *r, struct block_dev *bd, struct block_dirty *dirty,
			   json_t *prev, struct job_meter *m)
{
	uint64_t granules = (bd->size + REPO_CHUNK - 1) / REPO_CHUNK;
	json_t *out = json_array(), **old = NULL;
	struct block_info info;
	uint8_t *buf = malloc(REPO_CHUNK);
	int err = 0;

	block_get_info(bd, &info);
	if (prev && dirty && !(old = index_entries(prev, granules)))
		err = -ENOMEM;
	for (uint64_t g = 0; g < granules && !err && buf && out; g++) {
		uint64_t off = g * REPO_CHUNK;
		size_t len = (size_t)(bd->size - off < REPO_CHUNK ? bd->size - off : REPO_CHUNK);
		char hash[REPO_HASH_LEN + 1];
		struct iovec iov = { buf, len };
		int kind;

		if (m && (err = job_advance(m, len)))
			break;
		if (old && !block_dirty_test(dirty, g)) {
			if (old[g])
				json_array_append(out, old[g]);
			continue;
		}
		kind = granule_kind(bd, info.backing_file, off, len);
		if (kind < 0 && kind != -1) {
			err = kind;
		} else if (kind == -1) {
			json_array_append_new(out, json_pack("[I,s]", (json_int_t)g, "zero"));
		} else if (kind == 1 && !(err = block_preadv(bd, &iov, 1, off))) {
			if (all_zero(buf, len) && !info.backing_file)
				continue;
			if (all_zero(buf, len))
				json_array_append_new(out, json_pack("[I,s]", (json_int_t)g, "zero"));
			else if (!(err = repo_put(r, buf, len, hash)))
				json_array_append_new(out, json_pack("[I,s]", (json_int_t)g, hash));
		}
	}
	free(old);
	if (err || !buf || !out) {
		free(buf);
		json_decref(out);
		errno = err ? -err : ENOMEM;
		return NULL;
	}
	free(buf);
	return out;
}

/* One entry of manifest list `list` whose "id" is id: NULL when none. */
static json_t *find_by_id(json_t *manifest, const char *list, const char *id)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(manifest, list), i, e) {
		const char *eid = json_string_value(json_object_get(e, "id"));
		if (eid && !strcmp(eid, id))
			return e;
	}
	return NULL;
}

/* The store's view of what to back up, read under the lock. */
static json_t *tenant_json(struct ctl *c, const char *tenant)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT name, quota_vms, quota_vcpus, "
					    "quota_memory_mib, quota_disk_bytes, quota_snapshots, "
					    "cpu_share FROM tenants WHERE id = ?");
	json_t *o = NULL;

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "id", tenant, "name",
			      sqlite3_column_text(st, 0), "quota_vms", sqlite3_column_int64(st, 1),
			      "quota_vcpus", sqlite3_column_int64(st, 2), "quota_memory_mib",
			      sqlite3_column_int64(st, 3), "quota_disk_bytes",
			      sqlite3_column_int64(st, 4), "quota_snapshots",
			      sqlite3_column_int64(st, 5), "cpu_share", sqlite3_column_int64(st, 6));
	sqlite3_finalize(st);
	return o;
}

static json_t *vms_json(struct ctl *c, const char *tenant, const char *vm)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT v.id, v.name, v.vcpus, v.memory_mib, "
					    "v.disk_bytes, v.restart, i.id, i.name, i.format, i.size, "
					    "i.tenant_id IS NULL FROM vms v JOIN images i ON i.id = "
					    "v.image_id WHERE v.tenant_id = ?1 AND (?2 = '' OR v.id = "
					    "?2) AND v.state != 'creating' ORDER BY v.name");
	json_t *list = json_array();

	if (!st)
		return list;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, vm, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			list, json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:{s:s,s:s,s:s,s:I,s:b}}", "id",
					sqlite3_column_text(st, 0), "name", sqlite3_column_text(st, 1),
					"vcpus", sqlite3_column_int64(st, 2), "memory_mib",
					sqlite3_column_int64(st, 3), "disk_bytes",
					sqlite3_column_int64(st, 4), "restart",
					sqlite3_column_text(st, 5), "image", "id",
					sqlite3_column_text(st, 6), "name", sqlite3_column_text(st, 7),
					"format", sqlite3_column_text(st, 8), "size",
					sqlite3_column_int64(st, 9), "shared",
					sqlite3_column_int(st, 10)));
	sqlite3_finalize(st);
	return list;
}

/* The images under the VMs, each once, with their chunk lists (from the
 * parent manifest when it has them: an image never changes). */
static int backup_images(struct backup *b, json_t *vms, json_t *images)
{
	size_t i;
	json_t *v;

	json_array_foreach(vms, i, v) {
		json_t *img = json_object_get(v, "image"), *old, *chunks;
		const char *id = json_string_value(json_object_get(img, "id"));
		char path[4200];
		struct block_dev *bd;

		if (find_by_id(images, "images", id))
			continue;
		old = b->parent ? find_by_id(b->parent, "images", id) : NULL;
		if (old) {
			json_array_append(json_object_get(images, "images"), old);
			continue;
		}
		api_image_path(b->c, id, path, sizeof(path));
		bd = block_open(path, BLOCK_FORMAT_AUTO, true);
		if (!bd)
			return -EIO;
		chunks = backup_disk_chunks(&b->repo, bd, NULL, NULL, &b->m);
		block_close(bd);
		if (!chunks)
			return -errno;
		old = json_deep_copy(img);
		json_object_set_new(old, "chunks", chunks);
		json_array_append_new(json_object_get(images, "images"), old);
	}
	return 0;
}

/* Pause a running VM for the read (and mark it busy): 1, or 0 for a VM
 * that does not run.  A VM whose control socket another client holds (a
 * snapshot being taken) is waited for; -EBUSY when it stays held, and the
 * VM is not read unpaused. */
static int hold_vm(struct ctl *c, const char *tenant, const char *vm)
{
	for (int tries = 0;; tries++) {
		sqlite3_stmt *st;
		bool running = false;
		int err = 0;

		store_lock(c);
		snprintf(c->busy_vm, sizeof(c->busy_vm), "%s", vm);
		st = store_use(c, tenant) < 0 ? NULL
					      : store_prepare(c, "SELECT state FROM vms WHERE id = ?");
		if (st) {
			sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
			running = sqlite3_step(st) == SQLITE_ROW &&
				  !strcmp((const char *)sqlite3_column_text(st, 0), "running");
			sqlite3_finalize(st);
		}
		if (running)
			err = vmm_signal(c, vm, true);
		if (err == -EBUSY && (tries == HOLD_TRIES || c->stopping))
			c->busy_vm[0] = '\0';
		store_unlock(c);
		if (err != -EBUSY)
			return running && !err;
		if (tries == HOLD_TRIES || c->stopping)
			return -EBUSY;
		usleep(200 * 1000);
	}
}

static void release_vm(struct ctl *c, const char *tenant, const char *vm, bool resume)
{
	store_lock(c);
	if (resume && store_use(c, tenant) == 0)
		vmm_signal(c, vm, false);
	c->busy_vm[0] = '\0';
	store_unlock(c);
}

/* One VM's disk: its chunks into v["disk"]. */
static int backup_vm(struct backup *b, json_t *v, bool *incremental)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	char dir[4200], path[4300], images[4200];
	json_t *old = b->parent ? find_by_id(b->parent, "vms", id) : NULL, *chunks;
	struct block_dirty *dirty;
	struct block_dev *bd;
	bool paused;
	int err = 0, held;

	vmm_dir(b->c, b->tenant, id, dir, sizeof(dir));
	snprintf(images, sizeof(images), "%s/images", b->c->data);
	snprintf(path, sizeof(path), "%s/disk.dirty", dir);
	dirty = block_dirty_inspect(path);
	/* Incremental only against the backup the bits are relative to. */
	if (b->full || !old || !dirty || strcmp(block_dirty_base(dirty), b->parent_id))
		old = NULL;
	held = hold_vm(b->c, b->tenant, id);
	if (held < 0) {
		block_dirty_close(dirty);
		return held;
	}
	paused = held;
	snprintf(path, sizeof(path), "%s/disk.qcow2", dir);
	bd = block_open_shared(path, BLOCK_FORMAT_QCOW2, images);
	chunks = bd ? backup_disk_chunks(&b->repo, bd, old ? dirty : NULL,
					 json_object_get(json_object_get(old, "disk"), "chunks"),
					 &b->m)
		    : NULL;
	if (!chunks)
		err = bd ? -errno : -EIO;
	/* From now on the bits are relative to this backup; should it fail,
	 * no manifest will bear its id, and the next one reads everything. */
	if (!err && dirty)
		err = block_dirty_reset(dirty, b->id);
	release_vm(b->c, b->tenant, id, paused);
	if (!err)
		json_object_set_new(v, "disk",
				    json_pack("{s:I,s:o,s:b}", "size", (json_int_t)bd->size,
					      "chunks", chunks, "incremental", old != NULL));
	*incremental |= old != NULL;
	block_close(bd);
	block_dirty_close(dirty);
	if (!err)
		err = backup_snapshots(b->c, &b->repo, b->tenant, v,
				       b->parent ? find_by_id(b->parent, "vms", id) : NULL, &b->m);
	return err;
}

/* Bytes to go through: the disks, and each image not in the parent once. */
/* One VM's disk, as the guest sees it (image and overlay), into the NBD
 * export b->nbd at the same offsets: whole, or only the granules changed
 * since the parent (a backup to the same export, which holds it). */
static int send_vm(struct backup *b, json_t *v, bool *incremental)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	json_t *old = b->parent ? find_by_id(b->parent, "vms", id) : NULL;
	char dir[4200], path[4300], images[4200];
	struct block_dev *src = NULL, *dst = NULL;
	uint8_t *buf = malloc(REPO_CHUNK);
	struct block_dirty *dirty;
	bool paused, only_changed;
	int err = buf ? 0 : -ENOMEM, held;

	vmm_dir(b->c, b->tenant, id, dir, sizeof(dir));
	snprintf(images, sizeof(images), "%s/images", b->c->data);
	snprintf(path, sizeof(path), "%s/disk.dirty", dir);
	dirty = block_dirty_inspect(path);
	only_changed = !b->full && old && dirty && !strcmp(block_dirty_base(dirty), b->parent_id);
	held = hold_vm(b->c, b->tenant, id);
	if (held < 0) {
		block_dirty_close(dirty);
		free(buf);
		return held;
	}
	paused = held;
	snprintf(path, sizeof(path), "%s/disk.qcow2", dir);
	if (!err && !(src = block_open_shared(path, BLOCK_FORMAT_QCOW2, images)))
		err = -EIO;
	if (!err && !(dst = block_open(b->nbd, BLOCK_FORMAT_NBD, false)))
		err = -EHOSTUNREACH;
	if (!err && dst->size < src->size)
		err = -ENOSPC;
	for (uint64_t off = 0; !err && off < src->size; off += REPO_CHUNK) {
		size_t len = (size_t)(src->size - off < REPO_CHUNK ? src->size - off : REPO_CHUNK);
		struct iovec iov = { buf, len };

		if (!(err = job_advance(&b->m, len)) && only_changed &&
		    !block_dirty_test(dirty, off / REPO_CHUNK))
			continue;
		if (!err)
			err = block_preadv(src, &iov, 1, off);
		if (!err)
			err = all_zero(buf, len) ? block_write_zeroes(dst, off, len)
						 : block_pwritev(dst, &iov, 1, off);
		b->granules_sent++;
		b->bytes_sent += len;
	}
	if (!err)
		err = block_flush(dst);
	if (!err && dirty)
		err = block_dirty_reset(dirty, b->id);
	release_vm(b->c, b->tenant, id, paused);
	if (!err)
		json_object_set_new(v, "disk", json_pack("{s:I,s:s,s:b}", "size", (json_int_t)src->size,
							 "target", b->nbd, "incremental",
							 only_changed));
	*incremental |= only_changed;
	block_close(dst);
	block_close(src);
	block_dirty_close(dirty);
	free(buf);
	return err;
}

static json_int_t work_total(json_t *vms, json_t *parent)
{
	json_t *seen = json_object(), *v;
	json_int_t total = 0;
	size_t i;

	json_array_foreach(vms, i, v) {
		json_t *img = json_object_get(v, "image");
		const char *id = json_string_value(json_object_get(img, "id"));

		total += json_integer_value(json_object_get(v, "disk_bytes"));
		if (id && !json_object_get(seen, id) &&
		    !(parent && find_by_id(parent, "images", id))) {
			json_object_set_new(seen, id, json_true());
			total += json_integer_value(json_object_get(img, "size"));
		}
	}
	json_decref(seen);
	return total;
}

static int run_backup(struct backup *b, char *why, size_t whylen)
{
	struct ctl *c = b->c;
	json_t *tenant, *vms, *manifest;
	bool incremental = false;
	size_t i;
	json_t *v;
	int err = 0;

	store_lock(c);
	tenant = tenant_json(c, b->tenant);
	vms = store_use(c, b->tenant) == 0 ? vms_json(c, b->tenant, b->vm) : json_array();
	store_unlock(c);
	if (!tenant) {
		json_decref(vms);
		snprintf(why, whylen, "the tenant is gone");
		return -ENOENT;
	}
	if (repo_latest(&b->repo, json_string_value(json_object_get(tenant, "name")),
			b->nbd[0] ? b->nbd : NULL, b->parent_id))
		b->parent = repo_read_manifest(&b->repo, b->parent_id, why, whylen);
	b->m.total = (uint64_t)work_total(vms, b->nbd[0] ? json_null() : b->parent);
	manifest = json_pack("{s:s,s:i,s:s,s:I,s:I,s:O,s:[],s:o}", "format", "condo-backup",
			     "version", 1, "id", b->id, "created", (json_int_t)time(NULL),
			     "sequence",
			     json_integer_value(json_object_get(b->parent, "sequence")) + 1,
			     "tenant", tenant, "images", "vms", vms);
	if (b->nbd[0])
		json_object_set_new(manifest, "target", json_string(b->nbd));
	else
		err = backup_images(b, vms, manifest);
	json_array_foreach(vms, i, v) {
		if (err)
			break;
		err = b->nbd[0] ? send_vm(b, v, &incremental) : backup_vm(b, v, &incremental);
	}
	if (!err) {
		json_object_set_new(manifest, "kind", json_string(incremental ? "incremental"
									  : "full"));
		json_object_set_new(manifest, "parent", b->parent ? json_string(b->parent_id)
								  : json_null());
		json_object_set_new(manifest, "stored",
				    json_pack("{s:I,s:I}", "chunks",
					      (json_int_t)(b->repo.chunks_new + b->granules_sent),
					      "bytes",
					      (json_int_t)(b->repo.bytes_new + b->bytes_sent)));
		err = repo_write_manifest(&b->repo, b->id, manifest);
	}
	if (err)
		snprintf(why, whylen, "backup %s into %s failed: %s", b->id,
			 b->nbd[0] ? b->nbd : b->repo.dir,
			 err == -ECANCELED	  ? "condod stopped"
			 : err == -ENOSPC	  ? "the NBD export is smaller than the disk"
			 : err == -EHOSTUNREACH ? "cannot open the NBD export"
						  : strerror(-err));
	json_decref(manifest);
	json_decref(tenant);
	return err;
}

static void *backup_thread(void *arg)
{
	struct backup *b = arg;
	char why[4600] = "";
	int err = run_backup(b, why, sizeof(why));

	if (err)
		log_err("condod", "%s", why);
	json_decref(b->parent);
	job_end(&b->m, err ? why : NULL);
	free(b);
	return NULL;
}

int job_backup(struct ctl *c, const char *tenant, const char *vm, bool full, const char *repo_dir,
	       const char *nbd, char job[CTL_ID_LEN + 1], char backup[CTL_ID_LEN + 1])
{
	struct backup *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->c = c;
	b->m.c = c;
	b->m.exclusive = true;
	b->full = full;
	snprintf(b->nbd, sizeof(b->nbd), "%s", nbd ? nbd : "");
	snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
	snprintf(b->vm, sizeof(b->vm), "%s", vm ? vm : "");
	store_new_id(b->id);
	err = repo_open(&b->repo, repo_dir, true);
	if (!err)
		err = job_create(c, tenant, "backup", b->id, b->m.job);
	if (!err)
		err = job_spawn(c, b->m.job, backup_thread, b);
	if (err) {
		free(b);
		return err;
	}
	c->backup_running = true;
	snprintf(job, CTL_ID_LEN + 1, "%s", b->m.job);
	snprintf(backup, CTL_ID_LEN + 1, "%s", b->id);
	return 0;
}

struct prune {
	struct job_meter m;
	struct repo repo;
	char backup[CTL_ID_LEN + 1];
};

/* Delete a backup, then the chunks no other backup names. */
static void *prune_thread(void *arg)
{
	struct prune *p = arg;
	char why[4600] = "", reason[4096];
	uint64_t chunks, bytes;
	int err = repo_delete(&p->repo, p->backup);

	if (err)
		snprintf(why, sizeof(why), "cannot delete backup %s: %s", p->backup, strerror(-err));
	else if (repo_gc(&p->repo, &chunks, &bytes, reason, sizeof(reason)) < 0) {
		/* the backup is gone; its chunks wait for the next collection */
		snprintf(why, sizeof(why), "backup %s was deleted, but no chunk was removed: %s",
			 p->backup, reason);
		err = -EBADMSG;
	}
	else
		log_info("condod", "backup %s deleted: %" PRIu64 " chunks (%" PRIu64
			 " bytes) no backup needs were removed", p->backup, chunks, bytes);
	if (err)
		log_err("condod", "%s", why);
	job_end(&p->m, err ? why : NULL);
	free(p);
	return NULL;
}

int job_prune(struct ctl *c, const char *tenant, const char *repo_dir, const char *backup,
	      char job[CTL_ID_LEN + 1])
{
	struct prune *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->m.c = c;
	p->m.exclusive = true;
	snprintf(p->backup, sizeof(p->backup), "%s", backup);
	err = repo_open(&p->repo, repo_dir, false);
	if (!err)
		err = job_create(c, tenant, "backup-delete", backup, p->m.job);
	if (!err)
		err = job_spawn(c, p->m.job, prune_thread, p);
	if (err) {
		free(p);
		return err;
	}
	c->backup_running = true;
	snprintf(job, CTL_ID_LEN + 1, "%s", p->m.job);
	return 0;
}
