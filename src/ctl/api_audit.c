/* /v1/audit: the audit log, every state-changing request with who made it
 * and how it ended (operator only).  ?after=SEQ pages on; at most 1000
 * entries per reply, oldest first. */
#include "ctl/api.h"
#include "condo/log.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PAGE 1000

void api_audit(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *after = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after");
	json_t *list = json_array();
	sqlite3_stmt *st;
	char *end = NULL;
	long long from = after ? strtoll(after, &end, 10) : 0;

	if (r->nseg != 2 || strcmp(r->method, "GET"))
		return json_decref(list), reply_error(rep, 405, "method_not_allowed",
						      "%s %s is not served", r->method, r->path);
	if (r->caller.role != ROLE_OPERATOR)
		return json_decref(list), reply_error(rep, 404, "not_found",
						      "no such resource: %s", r->path);
	if (after && (*end || from < 0))
		return json_decref(list),
		       reply_error(rep, 400, "bad_request", "after is a sequence number");
	st = store_prepare(c, "SELECT seq, time, ifnull(tenant_id, ''), ifnull(token_id, ''), "
			      "method, path, status, ifnull(detail, '') FROM audit WHERE seq > ? "
			      "ORDER BY seq LIMIT ?");
	if (!st)
		return json_decref(list), reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int(st, 2, AUDIT_PAGE);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			list, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:i,s:s}", "seq",
					(json_int_t)sqlite3_column_int64(st, 0), "time",
					(json_int_t)sqlite3_column_int64(st, 1), "tenant",
					sqlite3_column_text(st, 2), "token", sqlite3_column_text(st, 3),
					"method", sqlite3_column_text(st, 4), "path",
					sqlite3_column_text(st, 5), "status", sqlite3_column_int(st, 6),
					"detail", sqlite3_column_text(st, 7)));
	sqlite3_finalize(st);
	reply_json(rep, 200, list);
}
