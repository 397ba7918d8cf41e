/* Time calls: the host's clocks and timers.  struct timespec, timeval,
 * itimerval, itimerspec, tms and sigevent have the same layout on riscv64
 * and x86-64, so values are copied as they are. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

SYS(clock_gettime)
{
	struct timespec ts;
	if (clock_gettime((clockid_t)a[0], &ts) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &ts, sizeof(ts));
}

SYS(clock_getres)
{
	struct timespec ts;
	if (clock_getres((clockid_t)a[0], &ts) < 0)
		return -errno;
	return a[1] ? mm_write(t_mm(t), a[1], &ts, sizeof(ts)) : 0;
}

SYS(gettimeofday)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (a[0] && mm_write(t_mm(t), a[0], &tv, sizeof(tv)))
		return -EFAULT;
	if (a[1]) {
		struct {
			int32_t minuteswest, dsttime;
		} tz = { 0, 0 };
		if (mm_write(t_mm(t), a[1], &tz, sizeof(tz)))
			return -EFAULT;
	}
	return 0;
}

/* A sleep: interrupted by a signal it reports the time left, if asked. */
static int64_t do_sleep(struct app_thread *t, clockid_t clk, int flags, gva_t req_at,
			gva_t rem_at)
{
	struct timespec req, rem = { 0, 0 };
	if (mm_read(t_mm(t), &req, req_at, sizeof(req)))
		return -EFAULT;
	int r = clock_nanosleep(clk, flags, &req, &rem);
	if (r == EINTR && rem_at && !(flags & TIMER_ABSTIME) &&
	    mm_write(t_mm(t), rem_at, &rem, sizeof(rem)))
		return -EFAULT;
	return -r;
}

SYS(nanosleep)
{
	return do_sleep(t, CLOCK_MONOTONIC, 0, a[0], a[1]);
}

SYS(clock_nanosleep)
{
	return do_sleep(t, (clockid_t)a[0], (int)a[1], a[2], a[3]);
}

SYS(times)
{
	struct tms tms;
	clock_t r = times(&tms);
	if (a[0] && mm_write(t_mm(t), a[0], &tms, sizeof(tms)))
		return -EFAULT;
	return (int64_t)r;
}

SYS(getitimer)
{
	struct itimerval v;
	if (getitimer((int)a[0], &v) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &v, sizeof(v));
}

SYS(setitimer)
{
	struct itimerval nv, old;
	if (mm_read(t_mm(t), &nv, a[1], sizeof(nv)))
		return -EFAULT;
	if (setitimer((int)a[0], &nv, &old) < 0)
		return -errno;
	return a[2] ? mm_write(t_mm(t), a[2], &old, sizeof(old)) : 0;
}

SYS(timer_create)
{
	uint8_t sev[64]; /* struct sigevent */
	int id;
	if (a[1] && mm_read(t_mm(t), sev, a[1], sizeof(sev)))
		return -EFAULT;
	if (syscall(SYS_timer_create, (clockid_t)a[0], a[1] ? sev : NULL, &id) < 0)
		return -errno;
	return mm_write(t_mm(t), a[2], &id, sizeof(id));
}

SYS(timer_settime)
{
	struct itimerspec nv, old;
	if (mm_read(t_mm(t), &nv, a[2], sizeof(nv)))
		return -EFAULT;
	if (syscall(SYS_timer_settime, (int)a[0], (int)a[1], &nv, &old) < 0)
		return -errno;
	return a[3] ? mm_write(t_mm(t), a[3], &old, sizeof(old)) : 0;
}

SYS(timer_gettime)
{
	struct itimerspec cur;
	if (syscall(SYS_timer_gettime, (int)a[0], &cur) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &cur, sizeof(cur));
}

SYS(timer_getoverrun)
{
	return host_ret(syscall(SYS_timer_getoverrun, (int)a[0]));
}

SYS(timer_delete)
{
	return host_ret(syscall(SYS_timer_delete, (int)a[0]));
}
