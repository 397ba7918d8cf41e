/* Snapshots in backups (docs/backup.md): each ready snapshot of a backed-up
 * VM, its files chunked as disks are (holes and zero chunks not stored, a
 * chunk already in the repository not written again).  A snapshot never
 * changes, so one the parent backup holds is copied from its manifest.  On
 * restore each becomes a snapshot of the restored VM, admitted against
 * the tenant's snapshot quota: its files written back, checked chunk by
 * chunk, and its frozen disks given the VM's image here as backing file. */
#define _GNU_SOURCE
#include "ctl/backup.h"
#include "condo/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNAP_FILE_MAX (1ll << 40) /* a restored file's size is bounded: a hostile manifest */

/* A name a snapshot's file may have: what condo snapshot writes (letters,
 * digits, '.', '-', '_'; not starting with a dot). */
static bool file_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len && len < 64 && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* The chunks of a file: [[granule, hash], ...] for the granules holding
 * data that is not all zeros.  NULL with errno. */
static json_t *file_chunks(struct repo *r, int fd, uint64_t size, struct job_meter *m)
{
	uint8_t *buf = malloc(REPO_CHUNK);
	json_t *out = json_array();
	int64_t next = 0; /* the first granule not yet read */
	off_t data = 0, hole;
	int err = buf && out ? 0 : -ENOMEM;

	while (!err && (data = lseek(fd, data, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			err = -errno;
			break;
		}
		for (int64_t g = data / REPO_CHUNK; !err && g * REPO_CHUNK < hole; g++) {
			uint64_t off = (uint64_t)g * REPO_CHUNK;
			size_t len = (size_t)(size - off < REPO_CHUNK ? size - off : REPO_CHUNK);
			char hash[REPO_HASH_LEN + 1];
			ssize_t n;

			if (g < next)
				continue; /* read with the extent before */
			next = g + 1;
			n = pread(fd, buf, len, (off_t)off);
			if (n != (ssize_t)len)
				err = n < 0 ? -errno : -EIO;
			else if (!(err = job_advance(m, len)) && !all_zero(buf, len) &&
				 !(err = repo_put(r, buf, len, hash)))
				json_array_append_new(out, json_pack("[I,s]", (json_int_t)g, hash));
		}
		data = hole;
	}
	if (!err && errno != ENXIO && data < 0)
		err = -errno;
	free(buf);
	if (err) {
		json_decref(out);
		errno = -err;
		return NULL;
	}
	return out;
}

/* One snapshot's files: [{name, size, chunks}, ...]; NULL with errno
 * (ENOENT: it was deleted meanwhile). */
static json_t *snapshot_files(struct repo *r, const char *dir, struct job_meter *m)
{
	json_t *files = json_array();
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = d ? 0 : -errno;

	while (!err && (e = readdir(d))) {
		struct stat st;
		json_t *chunks;
		int fd;

		if (!file_name_ok(e->d_name))
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			err = fd < 0 ? -errno : -EINVAL;
		} else if (!(chunks = file_chunks(r, fd, (uint64_t)st.st_size, m))) {
			err = -errno;
		} else {
			json_array_append_new(files, json_pack("{s:s,s:I,s:o}", "name", e->d_name,
							       "size", (json_int_t)st.st_size,
							       "chunks", chunks));
		}
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	if (err) {
		json_decref(files);
		errno = -err;
		return NULL;
	}
	return files;
}

int backup_snapshots(struct ctl *c, struct repo *r, const char *tenant, json_t *v,
		     json_t *old_vm, struct job_meter *m)
{
	const char *vm = json_string_value(json_object_get(v, "id"));
	json_t *list = json_array(), *snaps = json_array(), *s;
	sqlite3_stmt *st;
	size_t i;
	int err = 0;

	store_lock(c);
	st = store_use(c, tenant) < 0 ? NULL
				      : store_prepare(c, "SELECT id, name, created FROM snapshots "
							 "WHERE vm_id = ? AND state = 'ready' "
							 "ORDER BY created, name");
	if (st) {
		sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(list, json_pack("{s:s,s:s,s:I}", "id",
							      sqlite3_column_text(st, 0), "name",
							      sqlite3_column_text(st, 1), "created",
							      sqlite3_column_int64(st, 2)));
		sqlite3_finalize(st);
	}
	store_unlock(c);
	json_array_foreach(list, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		json_t *had = NULL, *o, *files;
		char dir[4200];
		size_t k;

		json_array_foreach(json_object_get(old_vm, "snapshots"), k, o)
			if (!strcmp(json_string_value(json_object_get(o, "id")) ?: "", id))
				had = o;
		if (had) { /* a snapshot never changes */
			json_array_append(snaps, had);
			continue;
		}
		api_snapshot_dir(c, tenant, id, dir, sizeof(dir));
		files = snapshot_files(r, dir, m);
		if (!files && errno == ENOENT)
			continue; /* deleted since: not in this backup */
		if (!files) {
			err = -errno;
			break;
		}
		json_object_set_new(s, "files", files);
		json_array_append(snaps, s);
	}
	json_decref(list);
	if (!err)
		json_object_set(v, "snapshots", snaps);
	json_decref(snaps);
	return err;
}

/* Write one file of a snapshot from its chunks: 0 or -errno (why set). */
static int write_file(struct repo *r, int dirfd, json_t *f, const char *backup, char *why,
		      size_t whylen)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	json_int_t size = json_integer_value(json_object_get(f, "size"));
	uint8_t *buf = malloc(REPO_CHUNK);
	size_t i, len;
	json_t *e;
	int fd = -1, err = buf ? 0 : -ENOMEM;

	if (!err && (!file_name_ok(name) || size < 0 || size > SNAP_FILE_MAX ||
		     !json_is_array(json_object_get(f, "chunks")))) {
		snprintf(why, whylen, "backup %s: a damaged snapshot entry", backup);
		err = -EBADMSG;
	}
	if (!err && ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
		     ftruncate(fd, size) < 0))
		err = -errno;
	json_array_foreach(json_object_get(f, "chunks"), i, e) {
		json_int_t g = json_integer_value(json_array_get(e, 0));
		const char *hash = json_string_value(json_array_get(e, 1));
		uint64_t off = (uint64_t)g * REPO_CHUNK;

		if (err)
			break;
		if (g < 0 || !hash || off >= (uint64_t)size) {
			snprintf(why, whylen, "backup %s: a snapshot's chunk lies outside its file",
				 backup);
			err = -EBADMSG;
			break;
		}
		err = repo_get(r, hash, buf, &len);
		if (!err && len != (size_t)((uint64_t)size - off < REPO_CHUNK ? (uint64_t)size - off
									    : REPO_CHUNK))
			err = -EBADMSG;
		if (err) {
			snprintf(why, whylen, "backup %s: chunk %s %s", backup, hash,
				 err == -EBADMSG ? "is damaged (its content does not match)"
						 : strerror(-err));
			break;
		}
		if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
			err = -EIO;
	}
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

/* A restored snapshot's frozen disks lie on the VM's image here. */
static int rebase_disks(const char *dir, json_t *files, const char *image)
{
	char path[4400];
	size_t i;
	json_t *f;

	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		size_t len = strlen(name);
		struct block_dev *bd;
		int err;

		if (strncmp(name, "disk", 4) || len < 6 || strcmp(name + len - 6, ".qcow2"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		bd = block_open_image_only(path, BLOCK_FORMAT_QCOW2, false);
		err = bd ? block_set_backing(bd, image, BLOCK_FORMAT_QCOW2) : -EIO;
		block_close(bd);
		if (err)
			return err;
	}
	return 0;
}

int restore_snapshots(struct ctl *c, struct repo *r, const char *tenant, const char *vm,
		      const char *image, json_t *v, const char *backup, char *why, size_t whylen)
{
	size_t i;
	json_t *s;
	int err = 0;

	json_array_foreach(json_object_get(v, "snapshots"), i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		json_t *files = json_object_get(s, "files"), *f;
		struct ctl_reply rep = { 0 };
		char id[CTL_ID_LEN + 1], dir[4200], parent[4200];
		size_t k;
		int dfd;

		if (!name || !api_name_ok(name) || !json_is_array(files)) {
			snprintf(why, whylen, "backup %s: a damaged snapshot entry", backup);
			return -EBADMSG;
		}
		store_new_id(id);
		api_snapshot_dir(c, tenant, id, dir, sizeof(dir));
		snprintf(parent, sizeof(parent), "%s/tenants/%s/snapshots", c->data, tenant);
		store_lock(c);
		err = store_use(c, tenant);
		if (!err)
			err = api_snapshot_admit(c, tenant, vm, name, id, &rep);
		if (err)
			snprintf(why, whylen, "snapshot %s: %s", name,
				 json_string_value(json_object_get(json_object_get(rep.body, "error"),
								   "message")) ?: "refused");
		json_decref(rep.body);
		store_unlock(c);
		if (err)
			return err;
		/* From here the row exists: the restore's undo (the VM's removal)
		 * or the failure below drops it with its files. */
		err = mkdir_all(parent, 0700) < 0 || mkdir(dir, 0755) < 0 ? -errno : 0;
		dfd = err ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (!err && dfd < 0)
			err = -errno;
		json_array_foreach(files, k, f) {
			if (err)
				break;
			err = write_file(r, dfd, f, backup, why, whylen);
		}
		if (dfd >= 0)
			close(dfd);
		if (!err && (err = rebase_disks(dir, files, image)))
			snprintf(why, whylen, "snapshot %s: cannot give its disk the image", name);
		store_lock(c);
		if (store_use(c, tenant) == 0 &&
		    (err || !api_snapshot_set_ready(c, id, api_snapshot_bytes(dir))))
			api_snapshot_drop(c, tenant, id);
		store_unlock(c);
		if (err) {
			if (!why[0])
				snprintf(why, whylen, "snapshot %s: %s", name, strerror(-err));
			return err;
		}
	}
	return 0;
}
