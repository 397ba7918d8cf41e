/* CSR access for the unprivileged CSRs: fflags/frm/fcsr (unpriv 11.2) and
 * the counters cycle/time/instret (Zicntr).  Privileged CSRs come with
 * system mode. */
#include "cpu/csr.h"

#include <time.h>

#define TIMEBASE_HZ 10000000ull

uint64_t csr_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TIMEBASE_HZ + (uint64_t)ts.tv_nsec / (1000000000ull / TIMEBASE_HZ);
}

int csr_read(struct hart *hart, unsigned csr, uint64_t *val)
{
	switch (csr) {
	case CSR_FFLAGS: *val = hart->fflags; return 0;
	case CSR_FRM: *val = hart->frm; return 0;
	case CSR_FCSR: *val = cpu_fcsr(hart); return 0;
	/* No cycle-accurate model: a cycle is an instruction. */
	case CSR_CYCLE: *val = hart->instret; return 0;
	case CSR_INSTRET: *val = hart->instret; return 0;
	case CSR_TIME: *val = csr_time_now(); return 0;
	}
	return -1;
}

int csr_write(struct hart *hart, unsigned csr, uint64_t val)
{
	if ((csr >> 10) == 3)
		return -1; /* read-only CSR space (priv 2.1) */
	switch (csr) {
	case CSR_FFLAGS: hart->fflags = val & 0x1f; return 0;
	case CSR_FRM: hart->frm = val & 7; return 0;
	case CSR_FCSR:
		hart->fflags = val & 0x1f;
		hart->frm = (val >> 5) & 7;
		return 0;
	}
	return -1;
}
