/* The restore job (docs/backup.md, "Restore"): a backup's VMs, or one,
 * back into a tenant of this condod, on this host or another.
 *
 * Each VM is admitted against the tenant's quota like a new one, gets a
 * new id and a new qcow2 overlay of its image, and the backup's chunks
 * are written into the overlay, each checked against its hash as it is
 * read.  The image is the store's own when it still has it (same id), or
 * is rebuilt from the backup as an image of the tenant's.  Anything the
 * job made is removed again when it fails: a restore is all or nothing. */
#define _GNU_SOURCE
#include "ctl/backup.h"
#include "condo/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESTORE_MAX_MADE 64 /* VMs and images one restore makes */

struct restore {
	struct ctl *c;
	struct repo repo;
	struct job_meter m;
	char backup[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1];
	char vm[CTL_NAME_MAX + 1], name[CTL_NAME_MAX + 1];
	bool start;
	/* What the job made so far, undone on failure. */
	char vms[RESTORE_MAX_MADE][CTL_ID_LEN + 1], images[RESTORE_MAX_MADE][CTL_ID_LEN + 1];
	int nvms, nimages;
	/* The image ids of the backup and what they became here. */
	char from[RESTORE_MAX_MADE][CTL_ID_LEN + 1], to[RESTORE_MAX_MADE][CTL_ID_LEN + 1];
	int nmapped;
};

/* Write a chunk list into bd: 0 or -errno, with the reason in why. */
static int write_chunks(struct restore *rs, struct block_dev *bd, json_t *chunks, char *why,
			size_t whylen)
{
	uint8_t *buf = malloc(REPO_CHUNK);
	size_t i, len;
	json_t *e;
	int err = buf ? 0 : -ENOMEM;

	json_array_foreach(chunks, i, e) {
		json_int_t g = json_integer_value(json_array_get(e, 0));
		const char *hash = json_string_value(json_array_get(e, 1));
		uint64_t off = (uint64_t)g * REPO_CHUNK;
		size_t want;

		if (err)
			break;
		if (g < 0 || off >= bd->size || !hash) {
			snprintf(why, whylen, "backup %s: a chunk entry lies outside its disk",
				 rs->backup);
			err = -EBADMSG;
			break;
		}
		want = (size_t)(bd->size - off < REPO_CHUNK ? bd->size - off : REPO_CHUNK);
		if (!strcmp(hash, "zero")) {
			err = block_write_zeroes(bd, off, want);
		} else {
			err = repo_get(&rs->repo, hash, buf, &len);
			if (!err && len != want)
				err = -EBADMSG;
			if (err) {
				snprintf(why, whylen, "backup %s: chunk %s %s", rs->backup, hash,
					 err == -EBADMSG ? "is damaged (its content does not match)"
							 : strerror(-err));
				break;
			}
			err = block_pwritev(bd, &(struct iovec){ buf, len }, 1, off);
		}
		if (!err)
			err = job_advance(&rs->m, want);
	}
	free(buf);
	if (!err)
		err = block_flush(bd);
	if (err && !why[0])
		snprintf(why, whylen, "writing the restored disk failed: %s", strerror(-err));
	return err;
}

static void image_row_update(struct ctl *c, const char *sql, const char *id)
{
	sqlite3_stmt *st = store_prepare(c, sql);

	if (!st)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* The image a backed-up image is here: the store's own when it still
 * holds it (same id, ready, the tenant's or shared), else rebuilt. */
static int restore_image(struct restore *rs, json_t *img, char out[CTL_ID_LEN + 1],
			 uint64_t *size, char *why, size_t whylen)
{
	struct ctl *c = rs->c;
	const char *id = json_string_value(json_object_get(img, "id"));
	const char *name = json_string_value(json_object_get(img, "name"));
	json_int_t bytes = json_integer_value(json_object_get(img, "size"));
	char path[4200], uname[CTL_NAME_MAX + 1];
	struct block_dev *bd;
	sqlite3_stmt *st;
	bool have = false;
	int err = 0;

	for (int i = 0; i < rs->nmapped; i++)
		if (!strcmp(rs->from[i], id)) {
			snprintf(out, CTL_ID_LEN + 1, "%s", rs->to[i]);
			*size = (uint64_t)bytes;
			return 0;
		}
	if (!name || !api_name_ok(name) || bytes <= 0 || bytes > VM_MAX_DISK ||
	    rs->nmapped == RESTORE_MAX_MADE) {
		snprintf(why, whylen, "backup %s: a damaged image entry", rs->backup);
		return -EBADMSG;
	}
	store_lock(c);
	st = store_prepare(c, "SELECT size FROM images WHERE id = ?1 AND state = 'ready' AND "
			      "(tenant_id IS NULL OR tenant_id = ?2)");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, rs->tenant, -1, SQLITE_TRANSIENT);
		have = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	if (have) {
		snprintf(out, CTL_ID_LEN + 1, "%s", id);
	} else {
		/* Rebuilt as the tenant's; a name taken by another gets ".restored". */
		store_new_id(out);
		api_image_path(c, out, path, sizeof(path));
		st = store_prepare(c, "INSERT INTO images (id, tenant_id, name, format, size, path, "
				      "created, state) VALUES (?1, ?2, CASE WHEN EXISTS (SELECT 1 "
				      "FROM images WHERE name = ?3 AND (tenant_id IS NULL OR "
				      "tenant_id = ?2)) THEN ?4 ELSE ?3 END, 'qcow2', ?5, ?6, ?7, "
				      "'importing')");
		snprintf(uname, sizeof(uname), "%.54s.restored", name);
		if (st) {
			sqlite3_bind_text(st, 1, out, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, rs->tenant, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, uname, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 5, bytes);
			sqlite3_bind_text(st, 6, path, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
		}
		err = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -EEXIST;
		sqlite3_finalize(st);
		if (!err)
			snprintf(rs->images[rs->nimages++], CTL_ID_LEN + 1, "%s", out);
		else
			snprintf(why, whylen, "cannot add image %s to the store", name);
	}
	store_unlock(c);
	if (!err && !have) {
		err = block_create(path, BLOCK_FORMAT_QCOW2, (uint64_t)bytes, NULL,
				   BLOCK_FORMAT_AUTO);
		bd = err ? NULL : block_open(path, BLOCK_FORMAT_QCOW2, false);
		if (!bd && !err)
			err = -EIO;
		if (!err)
			err = write_chunks(rs, bd, json_object_get(img, "chunks"), why, whylen);
		block_close(bd);
		if (!err) {
			store_lock(c);
			image_row_update(c, "UPDATE images SET state = 'ready' WHERE id = ?", out);
			store_unlock(c);
		} else if (!why[0]) {
			snprintf(why, whylen, "cannot rebuild image %s: %s", name, strerror(-err));
		}
	}
	if (!err) {
		snprintf(rs->from[rs->nmapped], CTL_ID_LEN + 1, "%s", id);
		snprintf(rs->to[rs->nmapped++], CTL_ID_LEN + 1, "%s", out);
		*size = (uint64_t)bytes;
	}
	return err;
}

static int restore_vm(struct restore *rs, json_t *v, json_t *manifest, char *why,
		      size_t whylen)
{
	struct ctl *c = rs->c;
	struct vm_spec s = { .tenant = rs->tenant };
	struct ctl_reply rep = { 0 };
	json_t *img = json_object_get(v, "image"), *disk = json_object_get(v, "disk"), *full;
	const char *image_id = json_string_value(json_object_get(img, "id"));
	char id[CTL_ID_LEN + 1], dir[4200], path[4300], images[4200];
	struct block_dev *bd;
	int err;
	size_t i;

	full = NULL;
	json_array_foreach(json_object_get(manifest, "images"), i, img) {
		const char *eid = json_string_value(json_object_get(img, "id"));
		if (eid && image_id && !strcmp(eid, image_id))
			full = img;
	}
	s.name = rs->name[0] ? rs->name : json_string_value(json_object_get(v, "name"));
	s.restart = json_string_value(json_object_get(v, "restart"));
	s.vcpus = json_integer_value(json_object_get(v, "vcpus"));
	s.memory_mib = json_integer_value(json_object_get(v, "memory_mib"));
	s.disk_bytes = json_integer_value(json_object_get(v, "disk_bytes"));
	if (!full || !s.name || !api_name_ok(s.name) || !s.restart ||
	    (strcmp(s.restart, "never") && strcmp(s.restart, "on-failure") &&
	     strcmp(s.restart, "always")) ||
	    !json_is_object(disk) || s.vcpus <= 0 || s.vcpus > VM_MAX_VCPUS ||
	    s.memory_mib < VM_MIN_MEMORY_MIB || s.memory_mib > VM_MAX_MEMORY_MIB ||
	    s.disk_bytes <= 0 || s.disk_bytes > VM_MAX_DISK ||
	    json_integer_value(json_object_get(disk, "size")) != s.disk_bytes ||
	    rs->nvms == RESTORE_MAX_MADE) {
		snprintf(why, whylen, "backup %s: a damaged VM entry", rs->backup);
		return -EBADMSG;
	}
	err = restore_image(rs, full, s.image_id, &s.image_size, why, whylen);
	if (err)
		return err;
	store_new_id(id);
	store_lock(c);
	err = store_use(c, rs->tenant);
	if (!err)
		err = api_vm_admit(c, &s, id, &rep);
	if (!err) {
		snprintf(rs->vms[rs->nvms++], CTL_ID_LEN + 1, "%s", id);
		err = api_vm_make_disk(c, &s, id);
		if (err)
			rs->nvms--; /* removed already */
	} else {
		snprintf(why, whylen, "VM %s: %s", s.name,
			 json_string_value(json_object_get(json_object_get(rep.body, "error"),
							   "message")) ?: "refused");
	}
	json_decref(rep.body);
	store_unlock(c);
	if (err) {
		if (!why[0])
			snprintf(why, whylen, "cannot create VM %s's disk", s.name);
		return err;
	}
	vmm_dir(c, rs->tenant, id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/disk.qcow2", dir);
	snprintf(images, sizeof(images), "%s/images", c->data);
	bd = block_open_in(path, BLOCK_FORMAT_QCOW2, false, images);
	err = bd ? write_chunks(rs, bd, json_object_get(disk, "chunks"), why, whylen) : -EIO;
	block_close(bd);
	api_image_path(c, s.image_id, path, sizeof(path));
	if (!err)
		err = restore_snapshots(c, &rs->repo, rs->tenant, id, path, v, rs->backup, why,
					whylen);
	if (err)
		return err;
	store_lock(c);
	store_use(c, rs->tenant);
	api_vm_set_state(c, id, "stopped");
	if (rs->start && vmm_start(c, id) < 0)
		api_vm_set_state(c, id, "crashed");
	store_unlock(c);
	return 0;
}

static json_int_t chunk_count(json_t *manifest)
{
	json_int_t n = 0;
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(manifest, "vms"), i, e)
		n += (json_int_t)json_array_size(json_object_get(json_object_get(e, "disk"),
								 "chunks"));
	json_array_foreach(json_object_get(manifest, "images"), i, e)
		n += (json_int_t)json_array_size(json_object_get(e, "chunks"));
	return n;
}

static int run_restore(struct restore *rs, char *why, size_t whylen)
{
	json_t *manifest = repo_read_manifest(&rs->repo, rs->backup, why, whylen), *v;
	int err = 0, found = 0;
	size_t i;

	if (!manifest)
		return -EBADMSG;
	rs->m.total = (uint64_t)chunk_count(manifest) * REPO_CHUNK;
	json_array_foreach(json_object_get(manifest, "vms"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		if (rs->vm[0] && (!name || strcmp(name, rs->vm)))
			continue;
		found++;
		err = restore_vm(rs, v, manifest, why, whylen);
		if (err)
			break;
	}
	if (!err && !found) {
		snprintf(why, whylen, "backup %s holds no VM%s%s", rs->backup, rs->vm[0] ? " " : "s",
			 rs->vm);
		err = -ENOENT;
	}
	json_decref(manifest);
	return err;
}

/* A failed restore leaves nothing behind. */
static void undo(struct restore *rs)
{
	struct ctl *c = rs->c;
	char path[4200];

	store_lock(c);
	for (int i = 0; i < rs->nvms && store_use(c, rs->tenant) == 0; i++) {
		vmm_stop(c, rs->vms[i], true);
		api_vm_remove(c, rs->tenant, rs->vms[i]);
	}
	for (int i = 0; i < rs->nimages; i++) {
		api_image_path(c, rs->images[i], path, sizeof(path));
		unlink(path);
		image_row_update(c, "DELETE FROM images WHERE id = ?", rs->images[i]);
	}
	store_unlock(c);
}

static void *restore_thread(void *arg)
{
	struct restore *rs = arg;
	char why[4600] = "";
	int err = run_restore(rs, why, sizeof(why));

	if (err) {
		if (err == -ECANCELED)
			snprintf(why, sizeof(why), "condod stopped during the restore");
		log_err("condod", "restore of %s: %s", rs->backup, why);
		undo(rs);
	}
	job_end(&rs->m, err ? why : NULL);
	free(rs);
	return NULL;
}

int job_restore(struct ctl *c, const char *repo_dir, const char *backup, const char *tenant,
		const char *vm, const char *new_name, bool start, char job[CTL_ID_LEN + 1])
{
	struct restore *rs = calloc(1, sizeof(*rs));
	int err;

	if (!rs)
		return -ENOMEM;
	rs->c = c;
	rs->m.c = c;
	rs->m.exclusive = true;
	rs->start = start;
	snprintf(rs->backup, sizeof(rs->backup), "%s", backup);
	snprintf(rs->tenant, sizeof(rs->tenant), "%s", tenant);
	snprintf(rs->vm, sizeof(rs->vm), "%s", vm ? vm : "");
	snprintf(rs->name, sizeof(rs->name), "%s", new_name ? new_name : "");
	err = repo_open(&rs->repo, repo_dir, false);
	if (!err)
		err = job_create(c, tenant, "restore", backup, rs->m.job);
	if (!err)
		err = job_spawn(c, rs->m.job, restore_thread, rs);
	if (err) {
		free(rs);
		return err;
	}
	c->backup_running = true;
	snprintf(job, CTL_ID_LEN + 1, "%s", rs->m.job);
	return 0;
}
