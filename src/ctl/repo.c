/* A backup repository (docs/backup.md, "The repository"):
 *   DIR/chunks/XX/HASH          one 64 KiB granule of a disk, named by the
 *                               BLAKE2b-256 of its content (XX: the first
 *                               two hex digits); a byte of kind first, 0
 *                               plain or 1 zstd, then the bytes
 *   DIR/backups/ID/manifest.json   what a backup holds
 *   DIR/backups/ID/manifest.sum    BLAKE2b-256 of manifest.json, in hex
 * A chunk is written once, whichever backup or tenant meets it first
 * (deduplication by content), into a temporary name, made durable, then
 * renamed: a chunk file under its name is always whole.  A manifest is
 * written last, so a backup cut short leaves chunks and no manifest.
 * Deleting a backup removes its manifest; repo_gc then removes the chunks
 * no manifest names (never while a backup runs: its chunks have no
 * manifest yet). */
#define _GNU_SOURCE
#include "ctl/backup.h"
#include "condo/io.h"
#include "condo/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

enum { CHUNK_PLAIN = 0, CHUNK_ZSTD = 1 };

static void hash_hex(const void *data, size_t len, char hex[REPO_HASH_LEN + 1])
{
	uint8_t h[REPO_HASH_LEN / 2];

	crypto_generichash(h, sizeof(h), data, len, NULL, 0);
	sodium_bin2hex(hex, REPO_HASH_LEN + 1, h, sizeof(h));
}

static bool hash_ok(const char *hash)
{
	if (strlen(hash) != REPO_HASH_LEN)
		return false;
	for (const char *p = hash; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static void chunk_path(const struct repo *r, const char *hash, char *out, size_t len)
{
	snprintf(out, len, "%s/chunks/%.2s/%s", r->dir, hash, hash);
}

int repo_open(struct repo *r, const char *dir, bool create)
{
	char path[4200];
	struct stat st;

	if (strlen(dir) >= sizeof(r->dir))
		return -ENAMETOOLONG;
	*r = (struct repo){ 0 };
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	if (create) {
		snprintf(path, sizeof(path), "%s/chunks", dir);
		if (mkdir_all(path, 0700) < 0)
			return -errno;
		snprintf(path, sizeof(path), "%s/backups", dir);
		return mkdir_all(path, 0700);
	}
	snprintf(path, sizeof(path), "%s/backups", dir);
	return stat(path, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Write a file whole and durably under its name: through a temporary name
 * in the same directory, fsync, rename, fsync the directory. */
static int write_durably(const char *path, const void *a, size_t alen, const void *b,
			 size_t blen)
{
	char tmp[4400], dir[4400];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, a, alen);
	if (!err && blen)
		err = write_all(fd, b, blen);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	return fsync_dir(dir);
}

int repo_put(struct repo *r, const void *data, size_t len, char hash[REPO_HASH_LEN + 1])
{
	static const uint8_t plain = CHUNK_PLAIN;
	uint8_t packed[1 + REPO_CHUNK + 1024];
	char path[4400];
	size_t n;
	int err;

	if (len > REPO_CHUNK)
		return -EINVAL;
	hash_hex(data, len, hash);
	chunk_path(r, hash, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0; /* deduplicated */
	*strrchr(path, '/') = '\0';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	chunk_path(r, hash, path, sizeof(path));
	/* Stored compressed only when that saves something. */
	n = ZSTD_compress(packed + 1, sizeof(packed) - 1, data, len, 3);
	if (!ZSTD_isError(n) && n < len) {
		packed[0] = CHUNK_ZSTD;
		err = write_durably(path, packed, n + 1, NULL, 0);
		n += 1;
	} else {
		err = write_durably(path, &plain, 1, data, len);
		n = len + 1;
	}
	if (!err) {
		r->chunks_new++;
		r->bytes_new += n;
	}
	return err;
}

int repo_get(struct repo *r, const char *hash, void *buf, size_t *len)
{
	uint8_t packed[1 + REPO_CHUNK + 1024];
	char path[4400], check[REPO_HASH_LEN + 1];
	ssize_t n;
	int fd;

	if (!hash_ok(hash))
		return -EBADMSG;
	chunk_path(r, hash, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, packed, sizeof(packed));
	close(fd);
	if (n < 1)
		return n < 0 ? -errno : -EBADMSG;
	if (packed[0] == CHUNK_PLAIN && (size_t)n - 1 <= REPO_CHUNK) {
		*len = (size_t)n - 1;
		memcpy(buf, packed + 1, *len);
	} else if (packed[0] == CHUNK_ZSTD) {
		size_t m = ZSTD_decompress(buf, REPO_CHUNK, packed + 1, (size_t)n - 1);
		if (ZSTD_isError(m))
			return -EBADMSG;
		*len = m;
	} else {
		return -EBADMSG;
	}
	hash_hex(buf, *len, check);
	return strcmp(check, hash) ? -EBADMSG : 0;
}

static void backup_dir(const struct repo *r, const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/backups/%s", r->dir, id);
}

int repo_write_manifest(struct repo *r, const char *id, json_t *manifest)
{
	char dir[4300], path[4400], sum[REPO_HASH_LEN + 2];
	char *text = json_dumps(manifest, JSON_INDENT(1) | JSON_SORT_KEYS);
	int err;

	if (!text)
		return -ENOMEM;
	backup_dir(r, id, dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		free(text);
		return -errno;
	}
	hash_hex(text, strlen(text), sum);
	strcat(sum, "\n");
	/* The sum first: a manifest without a matching sum is not a backup. */
	snprintf(path, sizeof(path), "%s/manifest.sum", dir);
	err = write_durably(path, sum, strlen(sum), NULL, 0);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (!err)
		err = write_durably(path, text, strlen(text), NULL, 0);
	free(text);
	return err;
}

/* A file of at most max bytes, NUL-terminated (freed by the caller). */
static char *slurp(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t n = read(fd, buf, (size_t)st.st_size);
		if (n != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

#define MANIFEST_MAX (256u << 20)

json_t *repo_read_manifest(struct repo *r, const char *id, char *why, size_t whylen)
{
	char dir[4300], path[4400], check[REPO_HASH_LEN + 1];
	char *text, *sum;
	size_t len, sumlen;
	json_error_t jerr;
	json_t *m;

	if (!store_id_ok(id)) {
		snprintf(why, whylen, "'%s' is not a backup id", id);
		return NULL;
	}
	backup_dir(r, id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	text = slurp(path, MANIFEST_MAX, &len);
	if (!text) {
		snprintf(why, whylen, "no backup %s in %s", id, r->dir);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/manifest.sum", dir);
	sum = slurp(path, 4096, &sumlen);
	hash_hex(text, len, check);
	if (!sum || strncmp(sum, check, REPO_HASH_LEN) || sumlen < REPO_HASH_LEN) {
		snprintf(why, whylen, "backup %s: the manifest does not match its checksum", id);
		free(text);
		free(sum);
		return NULL;
	}
	free(sum);
	m = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!m || !json_is_object(m) ||
	    strcmp(json_string_value(json_object_get(m, "format")) ?: "", "condo-backup") ||
	    json_integer_value(json_object_get(m, "version")) != 1 ||
	    strcmp(json_string_value(json_object_get(m, "id")) ?: "", id)) {
		snprintf(why, whylen, "backup %s: not a condo backup manifest of version 1 (of "
			 "this id)", id);
		json_decref(m);
		return NULL;
	}
	return m;
}

int repo_each(struct repo *r, int (*fn)(json_t *m, const char *why, void *arg), void *arg)
{
	char path[4200], why[512];
	struct dirent *e;
	int stop = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/backups", r->dir);
	if (!(d = opendir(path)))
		return -errno;
	while (!stop && (e = readdir(d))) {
		json_t *m;

		if (e->d_name[0] == '.')
			continue;
		m = repo_read_manifest(r, e->d_name, why, sizeof(why));
		stop = fn(m, why, arg);
		json_decref(m);
	}
	closedir(d);
	return stop;
}

struct latest {
	const char *tenant, *target;
	json_int_t best;
	char *id;
};

static int newer(json_t *m, const char *why, void *arg)
{
	struct latest *l = arg;
	const char *t = json_string_value(json_object_get(json_object_get(m, "tenant"), "name"));
	const char *mt = json_string_value(json_object_get(m, "target"));
	const char *id = json_string_value(json_object_get(m, "id"));
	json_int_t when = json_integer_value(json_object_get(m, "sequence"));

	if (m && t && id && store_id_ok(id) && !strcmp(t, l->tenant) && when > l->best &&
	    (l->target ? mt && !strcmp(mt, l->target) : !mt)) {
		l->best = when;
		memcpy(l->id, id, CTL_ID_LEN + 1);
	}
	return 0; /* unreadable manifests are no one's newest */
}

bool repo_latest(struct repo *r, const char *tenant_name, const char *target,
		 char id[CTL_ID_LEN + 1])
{
	struct latest l = { tenant_name, target, -1, id };

	repo_each(r, newer, &l);
	return l.best >= 0;
}

/* Remove a directory's files, then the directory (one level). */
static int remove_dir(const char *dir)
{
	char path[4700];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

int repo_delete(struct repo *r, const char *id)
{
	char dir[4300], gone[4400];

	if (!store_id_ok(id))
		return -EINVAL;
	backup_dir(r, id, dir, sizeof(dir));
	snprintf(gone, sizeof(gone), "%s/backups/.deleted-%s", r->dir, id);
	/* Gone at once, as a whole; the files go after. */
	if (rename(dir, gone) < 0)
		return -errno;
	return remove_dir(gone);
}

struct named {
	json_t *set;
	char *why;
	size_t len;
};

static void add_list(json_t *set, json_t *list)
{
	size_t j;
	json_t *e;

	json_array_foreach(list, j, e) {
		const char *h = json_string_value(json_array_get(e, 1));
		if (h && hash_ok(h))
			json_object_set_new(set, h, json_true());
	}
}

/* Add the chunks manifest m names to the set (images, the VMs' disks and
 * their snapshots' files); stop at one that cannot be read: then nothing
 * may be removed. */
static int add_named(json_t *m, const char *why, void *arg)
{
	struct named *n = arg;
	json_t *img, *vm, *snap, *file;
	size_t i, j, k;

	if (!m) {
		snprintf(n->why, n->len, "%s", why);
		return 1;
	}
	json_array_foreach(json_object_get(m, "images"), i, img)
		add_list(n->set, json_object_get(img, "chunks"));
	json_array_foreach(json_object_get(m, "vms"), i, vm) {
		add_list(n->set, json_object_get(json_object_get(vm, "disk"), "chunks"));
		json_array_foreach(json_object_get(vm, "snapshots"), j, snap)
			json_array_foreach(json_object_get(snap, "files"), k, file)
				add_list(n->set, json_object_get(file, "chunks"));
	}
	return 0;
}

/* Every chunk the manifests name, as the keys of an object; NULL (and the
 * reason) when a manifest cannot be read. */
static json_t *named_chunks(struct repo *r, char *why, size_t len)
{
	struct named n = { json_object(), why, len };
	int err = repo_each(r, add_named, &n);

	if (err < 0)
		snprintf(why, len, "cannot read %s/backups: %s", r->dir, strerror(-err));
	if (err) {
		json_decref(n.set);
		return NULL;
	}
	return n.set;
}

int repo_gc(struct repo *r, uint64_t *chunks, uint64_t *bytes, char *why, size_t len)
{
	json_t *keep = named_chunks(r, why, len);
	char dir[4300], path[4600];
	struct dirent *e, *f;
	struct stat st;
	DIR *top, *sub;

	*chunks = *bytes = 0;
	if (!keep)
		return -EBADMSG;
	snprintf(dir, sizeof(dir), "%s/chunks", r->dir);
	top = opendir(dir);
	while (top && (e = readdir(top))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(sub = opendir(path)))
			continue;
		while ((f = readdir(sub))) {
			char file[4900];
			if (f->d_name[0] == '.' || json_object_get(keep, f->d_name))
				continue;
			/* an unnamed chunk, or a temporary file a crash left */
			snprintf(file, sizeof(file), "%s/%s", path, f->d_name);
			if (stat(file, &st) == 0 && unlink(file) == 0) {
				(*chunks)++;
				*bytes += (uint64_t)st.st_size;
			}
		}
		closedir(sub);
	}
	if (top)
		closedir(top);
	json_decref(keep);
	return 0;
}
