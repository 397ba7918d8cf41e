/* Merge sort of 32-bit keys (tmp: room for n), shared by the sort and
 * threaded benchmarks. */
#ifndef BENCH_MERGE_SORT_H
#define BENCH_MERGE_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(a, tmp, mid);
	merge_sort(a + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
	while (i < mid)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, n * sizeof(*a));
}

#endif
