/* condo run --meter FILE: the counters condod bills from (condo/meter.h),
 * written by the event loop thread once a second from a timerfd made
 * before the jail locks down, and once more when the VMM ends.
 *
 * Instructions come from each hart's instret, read without a lock from
 * the loop thread (an aligned 64-bit load: it may lag by a block, never
 * tear).  instret is a CSR the guest's M-mode may write, so the meter
 * adds only forward steps: a hart whose counter went back (a write, or a
 * new boot) starts a new base, and the bill never runs backwards.  CPU
 * time is the whole process's: vCPUs, device models and the loop. */
#define _GNU_SOURCE
#include "machine/meter.h"
#include "machine/cpulimit.h"
#include "condo/log.h"
#include "condo/net.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int meter_open(struct meter *m, const char *path, const char *limit_path)
{
	struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = m->timer = m->limit_fd = -1;
	if (limit_path) {
		m->limit_fd = open(limit_path, O_RDONLY | O_CLOEXEC);
		if (m->limit_fd < 0) {
			log_err("run", "--cpu-limit-file %s: %s", limit_path, strerror(errno));
			return -errno;
		}
	}
	if (path) {
		m->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (m->fd < 0) {
			log_err("run", "--meter %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	if (!path && !limit_path)
		return 0;
	m->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->timer < 0 || timerfd_settime(m->timer, 0, &every_second, NULL) < 0) {
		log_err("run", "--meter: no timer: %s", strerror(errno));
		return -errno;
	}
	memcpy(m->rec.magic, METER_MAGIC, sizeof(m->rec.magic));
	m->rec.version = METER_VERSION;
	m->rec.size = sizeof(m->rec);
	m->start_ns = clock_ns(CLOCK_MONOTONIC);
	return 0;
}

/* Fold the harts' forward steps into the total. */
static void count_insns(struct meter *m)
{
	for (int i = 0; i < m->ncpus; i++) {
		uint64_t now = __atomic_load_n(&m->harts[i]->instret, __ATOMIC_RELAXED);
		if (now >= m->last[i])
			m->rec.insns += now - m->last[i];
		m->last[i] = now;
	}
}

void meter_write(struct meter *m)
{
	if (m->fd < 0)
		return;
	pthread_mutex_lock(&m->lock);
	count_insns(m);
	m->rec.cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	m->rec.uptime_ns = clock_ns(CLOCK_MONOTONIC) - m->start_ns;
	m->rec.disk_read_bytes = m->rec.disk_write_bytes = 0;
	m->rec.disk_read_ops = m->rec.disk_write_ops = 0;
	for (int i = 0; i < m->ndisks; i++) {
		const struct block_stats *s = &m->disks[i]->stats;
		m->rec.disk_read_bytes += __atomic_load_n(&s->read_bytes, __ATOMIC_RELAXED);
		m->rec.disk_write_bytes += __atomic_load_n(&s->write_bytes, __ATOMIC_RELAXED);
		m->rec.disk_read_ops += __atomic_load_n(&s->read_ops, __ATOMIC_RELAXED);
		m->rec.disk_write_ops += __atomic_load_n(&s->write_ops, __ATOMIC_RELAXED);
	}
	m->rec.net_rx_bytes = m->rec.net_tx_bytes = 0;
	m->rec.nnics = (uint32_t)m->nnics;
	for (int i = 0; i < m->nnics && i < METER_MAX_NICS; i++) {
		struct net_stats s;
		net_nic_stats(m->nics[i], &s);
		m->rec.nics[i] = (struct meter_nic){ s.rx_bytes, s.rx_packets, s.rx_drops,
						     s.tx_bytes, s.tx_packets, s.tx_drops };
		m->rec.net_rx_bytes += s.rx_bytes;
		m->rec.net_tx_bytes += s.tx_bytes;
	}
	m->rec.seq++;
	m->rec.seq_end = m->rec.seq;
	if (pwrite(m->fd, &m->rec, sizeof(m->rec), 0) != (ssize_t)sizeof(m->rec))
		log_debug("run", "--meter: write failed: %s", strerror(errno));
	pthread_mutex_unlock(&m->lock);
}

/* A new limit from the file; a malformed one keeps the old. */
static void reload_limit(struct meter *m)
{
	char buf[32];
	ssize_t n = pread(m->limit_fd, buf, sizeof(buf) - 1, 0);
	uint32_t mcores;

	if (n <= 0)
		return;
	buf[n] = '\0';
	if (cpulimit_parse(buf, &mcores) == 0 &&
	    __atomic_exchange_n(m->cpu_mcores, mcores, __ATOMIC_RELAXED) != mcores)
		log_info("run", "CPU limit: %u.%03u cores", mcores / 1000, mcores % 1000);
}

static void on_tick(void *ctx, int fd)
{
	struct meter *m = ctx;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	if (m->limit_fd >= 0 && m->cpu_mcores)
		reload_limit(m);
	meter_write(m);
}

int meter_attach(struct meter *m, struct evloop *loop, struct hart *const *harts, int ncpus)
{
	if (m->timer < 0)
		return 0;
	pthread_mutex_lock(&m->lock);
	m->ncpus = ncpus;
	for (int i = 0; i < ncpus; i++) {
		m->harts[i] = harts[i];
		/* from where the hart is: 0 at a boot, the saved count after a
		 * restore or a migration (those instructions ran elsewhere) */
		m->last[i] = harts[i]->instret;
	}
	pthread_mutex_unlock(&m->lock);
	return evloop_add_fd(loop, m->timer, on_tick, m);
}

void meter_detach(struct meter *m)
{
	if (m->fd < 0)
		return;
	meter_write(m); /* the boot's last instructions */
	pthread_mutex_lock(&m->lock);
	m->ncpus = 0;
	pthread_mutex_unlock(&m->lock);
}

void meter_close(struct meter *m)
{
	if (m->fd >= 0) {
		meter_write(m);
		close(m->fd);
	}
	if (m->timer >= 0)
		close(m->timer);
	if (m->limit_fd >= 0)
		close(m->limit_fd);
	m->fd = m->timer = m->limit_fd = -1;
}
