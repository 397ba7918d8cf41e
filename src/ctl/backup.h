/* Backups (docs/backup.md): a repository of content-addressed chunks and
 * manifests (repo.c), the backup job (backup.c), the restore job
 * (restore.c) and their API (api_backups.c). */
#ifndef CONDO_CTL_BACKUP_H
#define CONDO_CTL_BACKUP_H

#include "ctl/api.h"
#include "condo/block.h"
#include "condo/block_dirty.h"

#define REPO_HASH_LEN 64     /* hex characters of a chunk's BLAKE2b-256 */
#define REPO_CHUNK (64 * 1024) /* bytes a chunk covers: one tracking granule */
#define CTL_NBD_URI_MAX 1024   /* an NBD target's URI */

/* A repository: DIR/chunks/XX/HASH and DIR/backups/ID/manifest.json. */
struct repo {
	char dir[4096];
	uint64_t chunks_new, bytes_new; /* what repo_put stored, not found */
};

int repo_open(struct repo *r, const char *dir, bool create);
/* Store a chunk of len bytes (at most REPO_CHUNK) under its hash (written
 * to hash); one already there is not written again.  0 or -errno. */
int repo_put(struct repo *r, const void *data, size_t len, char hash[REPO_HASH_LEN + 1]);
/* Read the chunk hash into buf (REPO_CHUNK bytes); its length to *len.
 * -EBADMSG when its content does not match its hash. */
int repo_get(struct repo *r, const char *hash, void *buf, size_t *len);
/* Write a backup's manifest and its checksum, durably; 0 or -errno. */
int repo_write_manifest(struct repo *r, const char *id, json_t *manifest);
/* Read and verify a manifest: NULL with a one-line reason in why. */
json_t *repo_read_manifest(struct repo *r, const char *id, char *why, size_t len);
/* Call fn with each backup's manifest (NULL, and why, for one that cannot
 * be read) until it returns non-zero: that value, 0, or -errno when the
 * repository cannot be read. */
int repo_each(struct repo *r, int (*fn)(json_t *m, const char *why, void *arg), void *arg);
/* The newest backup of tenant (by its name) in the repository, among those
 * into the repository (target NULL) or to NBD export target: false when
 * none. */
bool repo_latest(struct repo *r, const char *tenant_name, const char *target,
		 char id[CTL_ID_LEN + 1]);

/* Remove backup id's manifest (at once, as a whole): 0 or -errno. */
int repo_delete(struct repo *r, const char *id);
/* Remove the chunks no manifest names, counted into chunks and bytes.
 * -EBADMSG (with the reason) when a manifest cannot be read: then nothing
 * is removed.  No backup may run meanwhile. */
int repo_gc(struct repo *r, uint64_t *chunks, uint64_t *bytes, char *why, size_t len);

/* The chunk list of a disk: [[granule index, hash or "zero"], ...], only
 * granules the image itself holds (with backing: not the backing's).
 * With prev and a bitmap relative to prev's backup, clean granules come
 * from prev.  NULL with errno. */
json_t *backup_disk_chunks(struct repo *r, struct block_dev *bd, struct block_dirty *dirty,
			   json_t *prev, struct job_meter *m);

/* backup_snapshots.c.  The ready snapshots of VM v (its manifest entry)
 * into v["snapshots"]; those old_vm (the parent backup's entry) holds are
 * copied from it.  0 or -errno. */
int backup_snapshots(struct ctl *c, struct repo *r, const char *tenant, json_t *v,
		     json_t *old_vm, struct job_meter *m);
/* The snapshots of backed-up VM v as snapshots of VM vm (restored), their
 * frozen disks on image (a path).  0 or -errno with the reason in why. */
int restore_snapshots(struct ctl *c, struct repo *r, const char *tenant, const char *vm,
		      const char *image, json_t *v, const char *backup, char *why, size_t whylen);

/* The jobs; the caller holds the lock. */
/* nbd: the one VM's disk goes to this NBD export (NULL: the repository). */
int job_backup(struct ctl *c, const char *tenant, const char *vm, bool full, const char *repo_dir,
	       const char *nbd, char job[CTL_ID_LEN + 1], char backup[CTL_ID_LEN + 1]);
int job_restore(struct ctl *c, const char *repo_dir, const char *backup, const char *tenant,
		const char *vm, const char *new_name, bool start, char job[CTL_ID_LEN + 1]);

/* Delete backup (a manifest tenant may see, checked by the caller), then
 * the chunks no backup names any more. */
int job_prune(struct ctl *c, const char *tenant, const char *repo_dir, const char *backup,
	      char job[CTL_ID_LEN + 1]);

#endif
