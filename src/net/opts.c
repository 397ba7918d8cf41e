/* --net values (docs/net.md):
 *   user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *   switch=NAME | tap=IFNAME
 * followed by any of mac=52:54:00:ab:cd:ef, rate=BYTES/s, burst=BYTES,
 * pps=PACKETS/s, pburst=PACKETS (k, M, G: powers of 1000). */
#define _GNU_SOURCE
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A count with an optional k/M/G and "/s"; false when malformed, 0 or
 * beyond 2^48 (a petabyte a second is no limit). */
static bool parse_amount(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1000;
		end++;
		break;
	case 'M':
		mul = 1000000;
		end++;
		break;
	case 'G':
		mul = 1000000000;
		end++;
		break;
	}
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end || v == 0 || v > (1ull << 48) / mul)
		return false;
	*out = v * mul;
	return true;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* "[ADDR]:PORT" (ADDR may be empty); s is modified. */
static bool parse_addr_port(char *s, uint32_t *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	struct in_addr a = {0};

	if (!colon)
		return false;
	*colon = '\0';
	if (*s && inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr = a.s_addr;
	return parse_port(colon + 1, port);
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static bool parse_hostfwd(const char *v, struct net_hostfwd *f)
{
	char buf[128], *dash;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	if (!strncmp(buf, "tcp:", 4))
		f->udp = false;
	else if (!strncmp(buf, "udp:", 4))
		f->udp = true;
	else
		return false;
	dash = strchr(buf + 4, '-');
	if (!dash)
		return false;
	*dash = '\0';
	return parse_addr_port(buf + 4, &f->host_addr, &f->host_port) &&
	       parse_addr_port(dash + 1, &f->guest_addr, &f->guest_port);
}

static int parse_option(const char *key, const char *val, struct net_config *cfg, char *err,
			size_t errlen)
{
	struct net_rate *r = &cfg->rate;

	if (!strcmp(key, "mac")) {
		if (!parse_mac(val, cfg->mac))
			return bad(err, errlen, "mac=%s: expected six hex bytes, 52:54:00:12:34:56",
				   val);
		if (cfg->mac[0] & 1)
			return bad(err, errlen,
				   "mac=%s: a multicast address (the first byte is odd)", val);
		cfg->has_mac = true;
	} else if (!strcmp(key, "rate") || !strcmp(key, "burst") || !strcmp(key, "pps") ||
		   !strcmp(key, "pburst")) {
		uint64_t n;
		if (!parse_amount(val, &n))
			return bad(err, errlen,
				   "%s=%s: expected a positive number (k, M, G allowed)", key, val);
		if (!strcmp(key, "rate"))
			r->bytes = n;
		else if (!strcmp(key, "burst"))
			r->bytes_burst = n;
		else if (!strcmp(key, "pps"))
			r->pkts = n;
		else
			r->pkts_burst = n;
	} else if (!strcmp(key, "hostfwd")) {
		if (cfg->kind != NET_USER)
			return bad(err, errlen, "hostfwd= is for --net user only");
		if (cfg->nfwd == NET_MAX_HOSTFWD)
			return bad(err, errlen, "at most %d hostfwd= per NIC", NET_MAX_HOSTFWD);
		if (!parse_hostfwd(val, &cfg->fwd[cfg->nfwd]))
			return bad(err, errlen,
				   "hostfwd=%s: expected tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT",
				   val);
		cfg->nfwd++;
	} else {
		return bad(err, errlen,
			   "unknown option '%s' (mac=, rate=, burst=, pps=, pburst=, hostfwd=)",
			   key);
	}
	return 0;
}

int net_parse_opts(const char *spec, struct net_config *cfg, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	bool first = true;
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->fd = -1;
	if (strlen(spec) >= sizeof(buf))
		return bad(err, errlen, "too long");
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok && !r;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (first) {
			if (!strcmp(tok, "user") && !eq) {
				cfg->kind = NET_USER;
				continue;
			}
			if (!strcmp(tok, "switch") || !strcmp(tok, "tap")) {
				cfg->kind = tok[0] == 's' ? NET_SWITCH : NET_TAP;
				if (!*val || strlen(val) >= sizeof(cfg->name_buf))
					return bad(err, errlen, "%s= needs a name", tok);
				if (cfg->kind == NET_SWITCH && !net_switch_name_ok(val))
					return bad(
					    err, errlen,
					    "switch=%s: a network name is 1 to 32 of A-Z a-z "
					    "0-9 _ . - and does not start with a dot",
					    val);
				strcpy(cfg->name_buf, val);
				cfg->name = cfg->name_buf;
				continue;
			}
			return bad(err, errlen, "'%s': expected user, switch=NAME or tap=IFNAME",
				   tok);
		}
		if (!eq)
			return bad(err, errlen, "'%s': expected KEY=VALUE", tok);
		r = parse_option(tok, val, cfg, err, errlen);
	}
	if (!r && !cfg->kind)
		r = bad(err, errlen, "empty: expected user, switch=NAME or tap=IFNAME");
	if (!r && cfg->rate.bytes_burst && !cfg->rate.bytes)
		r = bad(err, errlen, "burst= without rate=");
	if (!r && cfg->rate.pkts_burst && !cfg->rate.pkts)
		r = bad(err, errlen, "pburst= without pps=");
	/* A burst below one frame would hold frames forever. */
	if (!r && cfg->rate.bytes_burst && cfg->rate.bytes_burst < NET_MAX_FRAME)
		r = bad(err, errlen, "burst=%llu: at least one frame, %d bytes",
			(unsigned long long)cfg->rate.bytes_burst, NET_MAX_FRAME);
	return r;
}
