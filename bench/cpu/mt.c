/* CPU-bound benchmark with threads: two threads each sort pseudo-random
 * keys (merge sort) and hash them into an open-addressing table, rounds
 * apart, adding to shared totals under a mutex and an atomic counter.
 * Under condo a second thread used to send every access back through the
 * software TLB; this measures direct guest memory with threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_sort.h"

#define THREADS 2
#define KEYS (1u << 17)
#define SLOTS (1u << 16)

static uint64_t total, rounds_done;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static int rounds = 12;

static void *work(void *arg)
{
	uint32_t x = 12345u + (uint32_t)(uintptr_t)arg * 7919u;
	uint32_t *a = malloc(KEYS * sizeof(*a)), *tmp = malloc(KEYS * sizeof(*tmp));
	uint64_t *slots = malloc(SLOTS * sizeof(*slots)), sum = 0;

	if (!a || !tmp || !slots)
		exit(1);
	for (int r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < KEYS; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			a[i] = x;
		}
		merge_sort(a, tmp, KEYS);
		memset(slots, 0, SLOTS * sizeof(*slots));
		for (uint32_t i = 0; i < KEYS; i++) {
			uint64_t v = (uint64_t)a[i] * 0x9e3779b97f4a7c15ull + i;

			v ^= v >> 29;
			for (uint32_t s = (uint32_t)v & (SLOTS - 1);; s = (s + 1) & (SLOTS - 1)) {
				if (slots[s] == v) {
					sum += s;
					break;
				}
				if (!slots[s]) {
					if (i & 1)
						slots[s] = v;
					sum += v >> 40;
					break;
				}
			}
		}
		__atomic_add_fetch(&rounds_done, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_lock(&total_lock);
	total += sum ^ a[KEYS / 2];
	pthread_mutex_unlock(&total_lock);
	free(a);
	free(tmp);
	free(slots);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[THREADS];

	if (argc > 1)
		rounds = atoi(argv[1]);
	for (uintptr_t t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, work, (void *)t))
			return 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	printf("mt %016llx %llu\n", (unsigned long long)total, (unsigned long long)rounds_done);
	return 0;
}
