/* CPU-bound benchmark: sorting.  Quicksort and merge sort of pseudo-random
 * 32-bit keys, checked; the checksum is printed so runs can be compared. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_sort.h"

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 8;
	size_t n = 200000;
	uint32_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b)), *tmp = malloc(n * sizeof(*tmp));
	uint64_t sum = 0;

	if (!a || !b || !tmp)
		return 1;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] = next();
		qsort(a, n, sizeof(*a), cmp_u32);
		merge_sort(b, tmp, n);
		for (size_t i = 0; i < n; i++) {
			if (a[i] != b[i] || (i && a[i - 1] > a[i]))
				return 2;
			sum = sum * 31 + a[i];
		}
	}
	printf("sort %016llx\n", (unsigned long long)sum);
	return 0;
}
