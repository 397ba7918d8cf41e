/* CPU-bound benchmark: hashing.  FNV-1a, a 64-bit multiply-mix hash and
 * CRC-32 over a generated buffer, and an open-addressing hash table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF (1u << 20)
#define SLOTS (1u << 16)

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 48;
	uint8_t *buf = malloc(BUF);
	uint64_t *keys = calloc(SLOTS, sizeof(*keys));
	uint64_t fnv = 0xcbf29ce484222325ull, mix = 0, found = 0;
	uint32_t crc = 0xffffffffu, x = 1;

	if (!buf || !keys)
		return 1;
	crc_init();
	for (uint32_t i = 0; i < BUF; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int r = 0; r < rounds; r++) {
		for (uint32_t s = 0; s < SLOTS; s++)
			keys[s] = 0;
		for (uint32_t i = 0; i < BUF; i++) {
			fnv = (fnv ^ buf[i]) * 0x100000001b3ull;
			crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		}
		for (uint32_t i = 0; i + 8 <= BUF; i += 8) {
			uint64_t v = *(const uint64_t *)(buf + i) ^ (uint64_t)r;

			v ^= v >> 33;
			v *= 0xff51afd7ed558ccdull;
			v ^= v >> 33;
			mix += v;
			/* find, or insert into the table (linear probing) a quarter
			 * of them, so that it never fills */
			for (uint32_t s = (uint32_t)(v >> 7) & (SLOTS - 1);; s = (s + 1) & (SLOTS - 1)) {
				if (keys[s] == (v & ~3ull)) {
					found++;
					break;
				}
				if (!keys[s]) {
					if (!(v & 3))
						keys[s] = v;
					break;
				}
			}
		}
	}
	printf("hash %016llx %016llx %08x %llu\n", (unsigned long long)fnv,
	       (unsigned long long)mix, crc ^ 0xffffffffu, (unsigned long long)found);
	return 0;
}
