/* condo ctl's transport: one HTTP request to condod over its Unix socket
 * (or a TCP URL) with libcurl, the bearer token, and the JSON reply.  An
 * API error is printed as one line from the reply's error object.
 *
 * libcurl is loaded here, when condo ctl first needs it, not linked into
 * condo: every VMM is a `condo run` process, and libcurl with the TLS
 * and Kerberos libraries under it would cost each of them about 0.8 MiB
 * of private pages (relocations, their data) for nothing. */
#define CURL_DISABLE_TYPECHECK /* calls go through the table below */
#include "cli/ctl.h"
#include "condo/log.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIBCURL "libcurl.so.4"

static struct {
	CURL *(*init)(void);
	CURLcode (*setopt)(CURL *, CURLoption, ...);
	CURLcode (*perform)(CURL *);
	CURLcode (*getinfo)(CURL *, CURLINFO, ...);
	void (*cleanup)(CURL *);
	const char *(*strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} curl;

/* 0, or -1 after a one-line error. */
static int load_curl(void)
{
	static const char *const names[] = {
		"curl_easy_init",    "curl_easy_setopt",   "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup",  "curl_easy_strerror",
		"curl_slist_append", "curl_slist_free_all",
	};
	void *lib, *sym;

	if (curl.init)
		return 0;
	lib = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_err("ctl", "cannot load %s (the libcurl4 package): %s", LIBCURL, dlerror());
		return -1;
	}
	_Static_assert(sizeof(curl) == sizeof(names) / sizeof(names[0]) * sizeof(void *),
		       "one name per slot");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sym = dlsym(lib, names[i]);
		/* POSIX: a symbol's address converts to the function's pointer */
		memcpy((char *)&curl + i * sizeof(sym), &sym, sizeof(sym));
		if (!sym) {
			log_err("ctl", "%s has no %s", LIBCURL, names[i]);
			curl.init = NULL;
			return -1;
		}
	}
	return 0;
}

struct buf {
	char *data;
	size_t len;
};

static size_t gather(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *more = realloc(b->data, b->len + size * n + 1);

	if (!more)
		return 0;
	memcpy(more + b->len, p, size * n);
	b->data = more;
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

/* A handle for path on condod with the token; *hdr and err are the
 * caller's to free and read. */
static CURL *new_handle(const struct ctl_conn *conn, const char *path, struct curl_slist **hdr,
			char *err)
{
	char url[1200], auth[300];
	CURL *h = load_curl() < 0 ? NULL : curl.init();

	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", conn->url ? conn->url : "http://condod", path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", conn->token ? conn->token : "");
	*hdr = curl.slist_append(*hdr, auth);
	curl.setopt(h, CURLOPT_URL, url);
	if (!conn->url)
		curl.setopt(h, CURLOPT_UNIX_SOCKET_PATH, conn->socket);
	curl.setopt(h, CURLOPT_ERRORBUFFER, err);
	curl.setopt(h, CURLOPT_NOSIGNAL, 1L);
	return h;
}

static int unreachable(const struct ctl_conn *conn, const char *err, CURLcode rc)
{
	log_err("ctl", "cannot reach condod at %s: %s", conn->url ? conn->url : conn->socket,
		err[0] ? err : curl.strerror(rc));
	return CTL_EXIT_CONNECT;
}

int ctl_call(const struct ctl_conn *conn, const char *method, const char *path, json_t *body,
	     json_t **reply, char **text)
{
	char err[CURL_ERROR_SIZE] = "";
	struct buf b = { 0 };
	struct curl_slist *hdr = NULL;
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	CURL *h = new_handle(conn, path, &hdr, err);
	long status = 0;
	CURLcode rc;

	*reply = NULL;
	if (text)
		*text = NULL;
	if (!h) {
		free(payload);
		return CTL_EXIT_CONNECT;
	}
	hdr = curl.slist_append(hdr, "Content-Type: application/json");
	curl.setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl.setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl.setopt(h, CURLOPT_WRITEFUNCTION, gather);
	curl.setopt(h, CURLOPT_WRITEDATA, &b);
	if (payload)
		curl.setopt(h, CURLOPT_POSTFIELDS, payload);
	rc = curl.perform(h);
	curl.getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl.slist_free_all(hdr);
	curl.cleanup(h);
	free(payload);
	if (rc != CURLE_OK) {
		free(b.data);
		return unreachable(conn, err, rc);
	}
	if (b.data && (b.data[0] == '{' || b.data[0] == '['))
		*reply = json_loads(b.data, 0, NULL);
	if (status >= 400) {
		json_t *e = json_object_get(*reply, "error");
		log_err("ctl", "%s (HTTP %ld, %s)",
			json_string_value(json_object_get(e, "message")) ?: "request failed", status,
			json_string_value(json_object_get(e, "code")) ?: "error");
		json_decref(*reply);
		*reply = NULL;
		free(b.data);
		return status == 404 ? CTL_EXIT_NOT_FOUND : CTL_EXIT_API;
	}
	if (text)
		*text = b.data;
	else
		free(b.data);
	return 0;
}

static size_t to_stdout(char *p, size_t size, size_t n, void *arg)
{
	size_t done = fwrite(p, size, n, stdout);

	fflush(stdout);
	return done * size;
}

int ctl_stream(const struct ctl_conn *conn, const char *path)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURL *h = new_handle(conn, path, &hdr, err);
	long status = 0;
	CURLcode rc;

	if (!h)
		return CTL_EXIT_CONNECT;
	curl.setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl.setopt(h, CURLOPT_WRITEFUNCTION, to_stdout);
	curl.setopt(h, CURLOPT_FAILONERROR, 1L);
	rc = curl.perform(h);
	curl.getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl.slist_free_all(hdr);
	curl.cleanup(h);
	if (rc == CURLE_OK)
		return 0;
	if (status >= 400) {
		log_err("ctl", "the console stream was refused (HTTP %ld)", status);
		return status == 404 ? CTL_EXIT_NOT_FOUND : CTL_EXIT_API;
	}
	return unreachable(conn, err, rc);
}
