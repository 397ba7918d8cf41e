/* /v1/images: base images VMs are made from.
 *   POST   /v1/images        operator: import {name, path[, format][, tenant]}: 202
 *                             and a job (jobs.c); the image is usable when it is done
 *   GET    /v1/images[/ID]   shared images and the caller's tenant's own
 *   DELETE /v1/images/ID     operator, or the owning tenant's admin; unused only
 * Importing copies the host file into the image store (DATA/images, a qcow2
 * file per image), so a later change to the source does not reach VMs,
 * and every VM's overlay names a base inside the store (condo run
 * --image-dir).  Only the operator names host paths. */
#include "ctl/api.h"
#include "condo/block.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static json_t *image_json(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "id", sqlite3_column_text(st, 0),
			      "name", sqlite3_column_text(st, 1), "format",
			      sqlite3_column_text(st, 3), "size",
			      (json_int_t)sqlite3_column_int64(st, 4), "created",
			      (json_int_t)sqlite3_column_int64(st, 5), "state",
			      sqlite3_column_text(st, 6));

	json_object_set_new(o, "tenant", sqlite3_column_type(st, 2) == SQLITE_NULL
						 ? json_null()
						 : json_string((const char *)sqlite3_column_text(st, 2)));
	return o;
}

#define IMAGE_COLS "id, name, tenant_id, format, size, created, state"
/* The caller sees shared images and its own tenant's; the operator all. */
#define IMAGE_VISIBLE "(?1 = '' OR tenant_id IS NULL OR tenant_id = ?1)"

static void list_images(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT " IMAGE_COLS " FROM images WHERE "
					    IMAGE_VISIBLE " ORDER BY name");
	json_t *list = json_array();

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, image_json(st));
	sqlite3_finalize(st);
	reply_json(rep, 200, list);
}

static void get_image(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		      const char *id, int status)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT " IMAGE_COLS " FROM images WHERE "
					    IMAGE_VISIBLE " AND id = ?2");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply_json(rep, status, image_json(st));
	else
		reply_error(rep, 404, "not_found", "no image %s", id);
	sqlite3_finalize(st);
}

void api_image_path(const struct ctl *c, const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/images/%s.qcow2", c->data, id);
}

static void import_image(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *name = NULL, *path = NULL, *format = "auto", *tenant = NULL;
	enum block_format fmt = BLOCK_FORMAT_AUTO;
	char id[CTL_ID_LEN + 1], job[CTL_ID_LEN + 1], dest[4200];
	struct block_dev *src;
	json_error_t err;
	sqlite3_stmt *st;
	uint64_t size;
	int rc;

	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT, "{s:s,s:s,s?s,s?s}", "name",
				       &name, "path", &path, "format", &format, "tenant",
				       &tenant) < 0)
		return reply_error(rep, 400, "bad_request", "%s",
				   r->body ? err.text : "a JSON body with name and path is needed");
	if (!api_name_ok(name))
		return reply_error(rep, 400, "bad_request", API_NAME_RULE);
	if (strcmp(format, "auto") && block_format_parse(format, &fmt) < 0)
		return reply_error(rep, 400, "bad_request", "format is raw, qcow2 or auto");
	if (path[0] != '/' && !block_is_remote(path, fmt))
		return reply_error(rep, 400, "bad_request",
				   "path must be absolute, or an nbd:// or nbd+unix:// URI");
	if (tenant && !store_tenant_exists(c, tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	/* The source is looked at now, for a 400 rather than a failed job. */
	src = block_open(path, fmt, true);
	if (!src)
		return reply_error(rep, 400, "bad_image", "cannot open %s as a disk image", path);
	size = src->size;
	block_close(src);
	store_new_id(id);
	api_image_path(c, id, dest, sizeof(dest));
	st = store_prepare(c, "INSERT INTO images (id, tenant_id, name, format, size, path, "
			      "created, state) VALUES (?, ?, ?, 'qcow2', ?, ?, ?, 'importing')");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (tenant)
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
	sqlite3_bind_text(st, 5, dest, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return reply_error(rep, 409, "exists", "an image named %s exists", name);
	if (rc != SQLITE_DONE || job_import_image(c, tenant, id, path, fmt, dest, job) < 0)
		return reply_error(rep, 500, "store", "cannot start the import");
	reply_json(rep, 202, json_pack("{s:s,s:s,s:s}", "job", job, "image", id, "state",
				       "importing"));
}

static void delete_image(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			 const char *id)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT tenant_id, state != 'ready' FROM images WHERE "
					    IMAGE_VISIBLE " AND id = ?2");
	bool shared, used;
	char path[4200];

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return reply_error(rep, 404, "not_found", "no image %s", id);
	}
	shared = sqlite3_column_type(st, 0) == SQLITE_NULL;
	used = sqlite3_column_int64(st, 1) > 0;
	sqlite3_finalize(st);
	used = used || api_image_users(c, id) > 0;
	if (r->caller.role != ROLE_OPERATOR && (shared || r->caller.role < ROLE_TENANT_ADMIN))
		return reply_error(rep, 403, "forbidden", "deleting this image needs %s",
				   shared ? "the operator" : "tenant-admin");
	if (used)
		return reply_error(rep, 409, "in_use", "image %s is being imported or VMs are made "
				   "from it", id);
	st = store_prepare(c, "DELETE FROM images WHERE id = ?");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	api_image_path(c, id, path, sizeof(path));
	unlink(path);
	reply_json(rep, 200, json_pack("{s:s}", "deleted", id));
}

void api_images(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;

	if (r->nseg == 2 && !strcmp(m, "GET"))
		return list_images(c, r, rep);
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_image(c, r, rep, r->seg[2], 200);
	if (r->nseg == 3 && !strcmp(m, "DELETE"))
		return delete_image(c, r, rep, r->seg[2]);
	if (r->nseg == 2 && !strcmp(m, "POST")) {
		if (r->caller.role != ROLE_OPERATOR)
			return reply_error(rep, 403, "forbidden", "only the operator imports images");
		return import_image(c, r, rep);
	}
	if (r->nseg > 3)
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m, r->path);
}
