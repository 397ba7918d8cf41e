/* Long operations as jobs: a request starts one and gets 202 with the job;
 * the work runs on a thread of its own, outside the store's lock, and
 * writes its progress to the store, where GET /v1/jobs/ID (and condo ctl's
 * progress bar) read it.  Today's one kind: importing an image.
 *
 * A job that condod's stop interrupts (SIGTERM cancels running copies) or
 * that a crash cut short is failed at the next start, and the half-made
 * image is deleted: an image is usable only once its job is done. */
#include "ctl/api.h"
#include "condo/block.h"
#include "condo/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct import {
	struct job_meter m;
	char image[CTL_ID_LEN + 1];
	char src[4096], dest[4200];
	enum block_format format;
};

void job_update(struct ctl *c, const char *job, const char *state, double progress,
		const char *error)
{
	sqlite3_stmt *st = store_prepare(c, "UPDATE jobs SET state = ?, progress = ?, error = ?, "
					    "finished = CASE WHEN ? = 'running' THEN NULL ELSE ? "
					    "END WHERE id = ?");

	if (!st)
		return;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, progress);
	if (error)
		sqlite3_bind_text(st, 3, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 6, job, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int job_create(struct ctl *c, const char *tenant, const char *kind, const char *target,
	       char id[CTL_ID_LEN + 1])
{
	sqlite3_stmt *st = store_prepare(c, "INSERT INTO jobs (id, tenant_id, kind, target, state, "
					    "created) VALUES (?, ?, ?, ?, 'running', ?)");
	int rc;

	if (!st)
		return -EIO;
	store_new_id(id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (tenant)
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int job_progress(struct job_meter *m, uint64_t done)
{
	double now = m->total ? (double)done / (double)m->total : 1;

	m->done = done;
	if (m->c->stopping)
		return -ECANCELED;
	if (now - m->shown >= 0.01 && now < 1) {
		m->shown = now;
		store_lock(m->c);
		job_update(m->c, m->job, "running", now, NULL);
		store_unlock(m->c);
	}
	return 0;
}

int job_advance(struct job_meter *m, uint64_t bytes)
{
	return job_progress(m, m->done + bytes);
}

void job_end(struct job_meter *m, const char *why)
{
	struct ctl *c = m->c;

	store_lock(c);
	job_update(c, m->job, why ? "failed" : "done", why ? m->shown : 1, why);
	c->jobs_running--;
	if (m->exclusive)
		c->backup_running = false;
	pthread_cond_broadcast(&c->jobs_done);
	store_unlock(c);
}

/* block_copy's progress callback: non-zero stops the copy. */
static int import_progress(void *arg, uint64_t done, uint64_t total)
{
	struct import *im = arg;

	im->m.total = total;
	return job_progress(&im->m, done) < 0;
}

static void drop_image(struct ctl *c, const char *image, const char *path)
{
	sqlite3_stmt *st = store_prepare(c, "DELETE FROM images WHERE id = ?");

	if (st) {
		sqlite3_bind_text(st, 1, image, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	unlink(path);
}

static void *import_thread(void *arg)
{
	struct import *im = arg;
	struct ctl *c = im->m.c;
	struct block_dev *src = block_open(im->src, im->format, true), *dst = NULL;
	char why[4400];
	int err = src ? 0 : -EINVAL;

	if (!err)
		err = block_create(im->dest, BLOCK_FORMAT_QCOW2, src->size, NULL, BLOCK_FORMAT_AUTO);
	if (!err && !(dst = block_open(im->dest, BLOCK_FORMAT_QCOW2, false)))
		err = -EIO;
	if (!err)
		err = block_copy(src, dst, import_progress, im);
	block_close(dst);
	block_close(src);
	store_lock(c);
	if (err) {
		snprintf(why, sizeof(why), "copying %s into the store failed: %s", im->src,
			 err == -ECANCELED ? "condod stopped" : strerror(-err));
		drop_image(c, im->image, im->dest);
	} else {
		sqlite3_stmt *st = store_prepare(c, "UPDATE images SET state = 'ready' WHERE id = ?");
		if (st) {
			sqlite3_bind_text(st, 1, im->image, -1, SQLITE_TRANSIENT);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
	}
	store_unlock(c);
	job_end(&im->m, err ? why : NULL);
	free(im);
	return NULL;
}

int job_import_image(struct ctl *c, const char *tenant, const char *image, const char *src,
		     int format, const char *dest, char job[CTL_ID_LEN + 1])
{
	struct import *im = calloc(1, sizeof(*im));
	int err;

	if (!im)
		return -ENOMEM;
	*im = (struct import){ .m.c = c, .format = (enum block_format)format };
	snprintf(im->image, sizeof(im->image), "%s", image);
	snprintf(im->src, sizeof(im->src), "%s", src);
	snprintf(im->dest, sizeof(im->dest), "%s", dest);
	err = job_create(c, tenant, "image-import", image, im->m.job);
	if (err) {
		free(im);
		return err;
	}
	snprintf(job, CTL_ID_LEN + 1, "%s", im->m.job);
	err = job_spawn(c, im->m.job, import_thread, im);
	if (err)
		free(im);
	return err;
}

int job_spawn(struct ctl *c, const char *job, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err) {
		job_update(c, job, "failed", 0, "cannot start a thread");
		return err;
	}
	c->jobs_running++; /* the caller holds the lock */
	return 0;
}

void jobs_recover(struct ctl *c)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id FROM images WHERE state != 'ready'");
	char path[4200];

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		api_image_path(c, (const char *)sqlite3_column_text(st, 0), path, sizeof(path));
		unlink(path);
	}
	sqlite3_finalize(st);
	store_exec(c, "DELETE FROM images WHERE state != 'ready';"
		      "UPDATE jobs SET state = 'failed', error = 'condod stopped during the job', "
		      "finished = strftime('%s', 'now') WHERE state = 'running';");
	api_snapshots_recover(c);
}

void jobs_wait(struct ctl *c)
{
	store_lock(c);
	while (c->jobs_running)
		pthread_cond_wait(&c->jobs_done, &c->lock);
	store_unlock(c);
}

static json_t *job_json(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:I}", "id", sqlite3_column_text(st, 0), "kind",
			      sqlite3_column_text(st, 2), "target", sqlite3_column_text(st, 3),
			      "state", sqlite3_column_text(st, 4), "progress",
			      sqlite3_column_double(st, 5), "created",
			      (json_int_t)sqlite3_column_int64(st, 7));

	json_object_set_new(o, "tenant", sqlite3_column_type(st, 1) == SQLITE_NULL
						 ? json_null()
						 : json_string((const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(o, "error", sqlite3_column_type(st, 6) == SQLITE_NULL
						? json_null()
						: json_string((const char *)sqlite3_column_text(st, 6)));
	json_object_set_new(o, "finished", sqlite3_column_type(st, 8) == SQLITE_NULL
						   ? json_null()
						   : json_integer(sqlite3_column_int64(st, 8)));
	return o;
}

void api_jobs(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	sqlite3_stmt *st;
	json_t *list;

	if (strcmp(r->method, "GET") || r->nseg > 3)
		return reply_error(rep, r->nseg > 3 ? 404 : 405,
				   r->nseg > 3 ? "not_found" : "method_not_allowed",
				   "%s %s is not served", r->method, r->path);
	/* A job is its tenant's (an import for a tenant) or the operator's. */
	st = store_prepare(c, "SELECT id, tenant_id, kind, target, state, progress, error, created, "
			      "finished FROM jobs WHERE (?1 = '' OR tenant_id = ?1) AND (?2 = '' OR "
			      "id = ?2) ORDER BY created DESC, id LIMIT 1000");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	sqlite3_bind_text(st, 2, r->nseg == 3 ? r->seg[2] : "", -1, SQLITE_TRANSIENT);
	if (r->nseg == 3) {
		if (sqlite3_step(st) == SQLITE_ROW)
			reply_json(rep, 200, job_json(st));
		else
			reply_error(rep, 404, "not_found", "no job %s", r->seg[2]);
		sqlite3_finalize(st);
		return;
	}
	list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, job_json(st));
	sqlite3_finalize(st);
	reply_json(rep, 200, list);
}
