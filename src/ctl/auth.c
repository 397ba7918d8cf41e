/* Tokens and roles.  A token is "condo_" and 43 characters of base64url
 * (32 random bytes); the store keeps only its BLAKE2b hash keyed with
 * DATA/key, a random key made at `condod init` and readable by condod only,
 * so a stolen database does not give tokens that work (nor can they be
 * checked offline without the key).  Failed authentication is limited per
 * peer (a Unix socket peer's uid, a TCP peer's address): a bucket of
 * `burst` failures, one forgiven every `period` seconds (condod
 * --auth-limit BURST/SECONDS, default 10/1); an empty bucket answers 429
 * to every request from that peer until it refills. */
#include "ctl/ctl.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_PREFIX "condo_"
#define LIMITER_SLOTS 256

struct limiter_slot {
	char peer[64];
	double tokens;
	double last;
};

struct ctl_limiter {
	pthread_mutex_t lock;
	double burst, refill; /* failures; forgiven per second */
	struct limiter_slot slot[LIMITER_SLOTS];
};

static const char *const role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_READ_ONLY] = "read-only",
	[ROLE_TENANT_USER] = "tenant-user",
	[ROLE_TENANT_ADMIN] = "tenant-admin",
	[ROLE_OPERATOR] = "operator",
};

const char *auth_role_name(enum ctl_role role)
{
	return role <= ROLE_OPERATOR ? role_names[role] : "none";
}

enum ctl_role auth_role_parse(const char *name)
{
	for (int r = ROLE_READ_ONLY; r <= ROLE_OPERATOR; r++)
		if (!strcmp(name, role_names[r]))
			return (enum ctl_role)r;
	return ROLE_NONE;
}

int auth_load_key(struct ctl *c)
{
	char path[4200];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/key", c->data);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("condod", "cannot read %s: %s (run condod init first)", path,
			strerror(errno));
		return -errno;
	}
	n = read(fd, c->key, sizeof(c->key));
	close(fd);
	if (n != (ssize_t)sizeof(c->key)) {
		log_err("condod", "%s: not a %zu-byte key", path, sizeof(c->key));
		return -EINVAL;
	}
	return 0;
}

static void token_hash(const struct ctl *c, const char *token, uint8_t out[32])
{
	crypto_generichash(out, 32, (const uint8_t *)token, strlen(token), c->key, sizeof(c->key));
}

int auth_new_token(struct ctl *c, const char *tenant, enum ctl_role role, const char *name,
		   char *secret, size_t len, char id[CTL_ID_LEN + 1])
{
	uint8_t raw[32], hash[32];
	sqlite3_stmt *st;
	int rc;

	if (len < sizeof(TOKEN_PREFIX) + 44)
		return -ENOSPC;
	randombytes_buf(raw, sizeof(raw));
	strcpy(secret, TOKEN_PREFIX);
	sodium_bin2base64(secret + strlen(TOKEN_PREFIX), len - strlen(TOKEN_PREFIX), raw,
			  sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	token_hash(c, secret, hash);
	store_new_id(id);
	st = store_prepare(c, "INSERT INTO tokens (id, tenant_id, role, name, hash, created) "
			      "VALUES (?, ?, ?, ?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (tenant)
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, auth_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, hash, sizeof(hash), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

struct ctl_limiter *auth_limiter_new(unsigned burst, double period)
{
	struct ctl_limiter *l = calloc(1, sizeof(*l));

	if (l) {
		pthread_mutex_init(&l->lock, NULL);
		l->burst = burst;
		l->refill = 1.0 / period;
	}
	return l;
}

void auth_limiter_free(struct ctl_limiter *l)
{
	if (l)
		pthread_mutex_destroy(&l->lock);
	free(l);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The peer's bucket, refilled to now; the least recently used slot is
 * taken over for a new peer (a flood of new peers forgets old ones, which
 * only ever makes the limit kinder). */
static struct limiter_slot *bucket(struct ctl_limiter *l, const char *peer)
{
	struct limiter_slot *s = NULL, *oldest = &l->slot[0];
	double now = now_s();

	for (int i = 0; i < LIMITER_SLOTS && !s; i++) {
		if (!strcmp(l->slot[i].peer, peer))
			s = &l->slot[i];
		else if (l->slot[i].last < oldest->last)
			oldest = &l->slot[i];
	}
	if (!s) {
		s = oldest;
		snprintf(s->peer, sizeof(s->peer), "%s", peer);
		s->tokens = l->burst;
		s->last = now;
	}
	s->tokens += (now - s->last) * l->refill;
	if (s->tokens > l->burst)
		s->tokens = l->burst;
	s->last = now;
	return s;
}

static bool limited(struct ctl_limiter *l, const char *peer, bool failed)
{
	bool out;

	pthread_mutex_lock(&l->lock);
	struct limiter_slot *s = bucket(l, peer);
	if (failed && s->tokens >= 1)
		s->tokens -= 1;
	out = s->tokens < 1;
	pthread_mutex_unlock(&l->lock);
	return out;
}

int auth_check(struct ctl *c, const char *header, const char *peer, struct ctl_caller *who)
{
	uint8_t hash[32];
	sqlite3_stmt *st;
	int rc;

	memset(who, 0, sizeof(*who));
	if (limited(c->limiter, peer, false))
		return -EAGAIN;
	if (!header || strncmp(header, "Bearer ", 7) || strlen(header + 7) > 128) {
		limited(c->limiter, peer, true);
		return -EACCES;
	}
	token_hash(c, header + 7, hash);
	st = store_prepare(c, "SELECT id, ifnull(tenant_id, ''), role FROM tokens WHERE hash = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(who->token, sizeof(who->token), "%s", sqlite3_column_text(st, 0));
		snprintf(who->tenant, sizeof(who->tenant), "%s", sqlite3_column_text(st, 1));
		who->role = auth_role_parse((const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (who->role == ROLE_NONE) {
		limited(c->limiter, peer, true);
		return -EACCES;
	}
	return 0;
}
