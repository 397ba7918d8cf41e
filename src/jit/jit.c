/* Placeholder translator: compiles nothing, so every block is interpreted.
 * Replaced by the x86-64 translator. */
#include "condo/jit.h"

#include <stdlib.h>

struct jit {
	size_t cache_bytes;
};

struct jit *jit_new(size_t cache_bytes)
{
	struct jit *jit = calloc(1, sizeof(*jit));

	if (jit)
		jit->cache_bytes = cache_bytes;
	return jit;
}

void jit_free(struct jit *jit)
{
	free(jit);
}

jit_block_fn jit_compile(struct jit *jit, struct hart *hart, struct block *block)
{
	return NULL;
}

void jit_flush(struct jit *jit)
{
}
