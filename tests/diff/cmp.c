/* Differential-test comparator: compares the per-case state records (see
 * diff.h) written by the same generated program under two emulators and
 * names every differing register, fcsr field and memory word.
 *
 *   cmp [--base IDX] [--skip K] [--names A,B] [--max-report N] REF.bin OUT.bin
 *
 * REF.bin holds records for cases IDX, IDX+1, ...; OUT.bin starts at REF's
 * record K (the program was restarted there).  Only the records present in
 * OUT are compared.  The last line is "compared N mismatched M"; the exit
 * status is 0 unless the arguments or files are unusable. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static const char *const xname[32] = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 1 << 20, n = 0;
	unsigned char *p = malloc(cap);
	size_t got;
	while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	if (!p) {
		perror("cmp");
		exit(2);
	}
	fclose(f);
	*len = n;
	return p;
}

/* "1.5 (single, boxed)" style hint for an f register's bits. */
static void describe_f(uint64_t bits, char *out, size_t n)
{
	if ((bits >> 32) == 0xffffffffu) {
		uint32_t s = (uint32_t)bits;
		float v;
		memcpy(&v, &s, sizeof(v));
		snprintf(out, n, "boxed single %g", (double)v);
	} else {
		double v;
		memcpy(&v, &bits, sizeof(v));
		snprintf(out, n, "double %g", v);
	}
}

static void describe_fcsr(uint64_t v, char *out, size_t n)
{
	static const char *const flag[5] = {"NX", "UF", "OF", "DZ", "NV"};
	int len = snprintf(out, n, "frm %" PRIu64 " fflags", (v >> 5) & 7);
	for (int i = 4; i >= 0; i--)
		if (v >> i & 1)
			len += snprintf(out + len, n - (size_t)len, " %s", flag[i]);
	if (!(v & 31))
		snprintf(out + len, n - (size_t)len, " -");
}

/* Print each difference of one case; returns how many fields differ. */
static int report(uint64_t index, const unsigned char *ref, const unsigned char *out,
		  const char *nref, const char *nout, int verbose)
{
	int ndiff = 0;
	char a[64], b[64];
	for (int i = 0; i < 32; i++) {
		uint64_t r = get64(ref + REC_X + 8 * i), o = get64(out + REC_X + 8 * i);
		if (r != o && ndiff++ < verbose)
			printf("  case %" PRIu64 ": x%d/%s: %s 0x%016" PRIx64 ", %s 0x%016" PRIx64
			       "\n",
			       index, i, xname[i], nout, o, nref, r);
	}
	for (int i = 0; i < 32; i++) {
		uint64_t r = get64(ref + REC_F + 8 * i), o = get64(out + REC_F + 8 * i);
		if (r != o && ndiff++ < verbose) {
			describe_f(o, a, sizeof(a));
			describe_f(r, b, sizeof(b));
			printf("  case %" PRIu64 ": f%d: %s 0x%016" PRIx64 " (%s), %s 0x%016" PRIx64
			       " (%s)\n",
			       index, i, nout, o, a, nref, r, b);
		}
	}
	uint64_t r = get64(ref + REC_FCSR), o = get64(out + REC_FCSR);
	if (r != o && ndiff++ < verbose) {
		describe_fcsr(o, a, sizeof(a));
		describe_fcsr(r, b, sizeof(b));
		printf("  case %" PRIu64 ": fcsr: %s 0x%02" PRIx64 " (%s), %s 0x%02" PRIx64
		       " (%s)\n",
		       index, nout, o, a, nref, r, b);
	}
	for (int i = 0; i < REC_MEM_SIZE; i += 8) {
		uint64_t rm = get64(ref + REC_MEM + i), om = get64(out + REC_MEM + i);
		if (rm != om && ndiff++ < verbose)
			printf("  case %" PRIu64
			       ": mem+0x%02x (8 bytes, little-endian): %s 0x%016" PRIx64
			       ", %s 0x%016" PRIx64 "\n",
			       index, i, nout, om, nref, rm);
	}
	if (ndiff > verbose)
		printf("  case %" PRIu64 ": ... %d differences in all\n", index, ndiff);
	return ndiff;
}

static void usage(void)
{
	fprintf(stderr, "usage: cmp [--base IDX] [--skip K] [--names REF,OUT] [--max-report N] "
			"REF.bin OUT.bin\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"base", required_argument, NULL, 'b'},
	    {"skip", required_argument, NULL, 'k'},
	    {"names", required_argument, NULL, 'n'},
	    {"max-report", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t base = 0, skip = 0, max_report = 5;
	char names[128] = "qemu,condo";
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			base = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			skip = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			snprintf(names, sizeof(names), "%s", optarg);
			break;
		case 'm':
			max_report = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 2)
		usage();
	char *comma = strchr(names, ',');
	if (!comma)
		usage();
	*comma = 0;
	const char *nref = names, *nout = comma + 1;

	size_t rlen, olen;
	unsigned char *ref = slurp(argv[optind], &rlen);
	unsigned char *out = slurp(argv[optind + 1], &olen);
	uint64_t nrec_ref = rlen / REC_SIZE, nrec_out = olen / REC_SIZE;
	if (skip + nrec_out > nrec_ref) {
		fprintf(stderr,
			"cmp: %s has %" PRIu64 " records past %" PRIu64 ", %s only %" PRIu64 "\n",
			argv[optind + 1], nrec_out, skip, argv[optind], nrec_ref);
		return 2;
	}

	uint64_t bad = 0;
	for (uint64_t i = 0; i < nrec_out; i++) {
		const unsigned char *r = ref + (skip + i) * REC_SIZE, *o = out + i * REC_SIZE;
		if (!memcmp(r, o, REC_SIZE))
			continue;
		uint64_t index = base + skip + i;
		if (bad++ < max_report) {
			printf("FAIL case %" PRIu64 " (%s differs from %s):\n", index, nout, nref);
			report(index, r, o, nref, nout, 12);
		}
	}
	printf("compared %" PRIu64 " mismatched %" PRIu64 "\n", nrec_out, bad);
	free(ref);
	free(out);
	return 0;
}
