/* Shared by the unit tests of the devices' snapshot state: a saved state
 * cut short anywhere must fail to load, cleanly, into the same device,
 * and leave it loadable afterwards.  Included after cmocka.h. */
#ifndef TEST_STATE_COMMON_H
#define TEST_STATE_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "condo/dev.h"
#include "condo/state.h"

/* Every proper prefix of saved, each in a buffer of exactly its length
 * (so the sanitizers catch a read past it), then the whole of it. */
static inline void expect_prefixes_fail(const struct dev_ops *ops, void *dev,
					const struct state_buf *saved)
{
	for (size_t n = 0; n < saved->len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct state_buf in;

		assert_non_null(copy);
		memcpy(copy, saved->data, n);
		in = state_reader(copy, n);
		if (ops->load(dev, &in) != -1 || !in.failed || !in.why)
			fail_msg("%s: a state cut at %zu of %zu bytes loaded", ops->name, n,
				 saved->len);
		free(copy);
	}
}

/* Load saved with byte at offset replaced by val: must fail, saying why. */
static inline const char *load_patched(const struct dev_ops *ops, void *dev,
				       const struct state_buf *saved, size_t offset, uint8_t val)
{
	uint8_t *copy = malloc(saved->len);
	struct state_buf in;

	assert_non_null(copy);
	assert_true(offset < saved->len);
	memcpy(copy, saved->data, saved->len);
	copy[offset] = val;
	in = state_reader(copy, saved->len);
	assert_int_equal(ops->load(dev, &in), -1);
	assert_true(in.failed);
	assert_non_null(in.why);
	free(copy);
	return in.why;
}

/* Load all of saved: must succeed. */
static inline void load_ok(const struct dev_ops *ops, void *dev, const struct state_buf *saved)
{
	struct state_buf in = state_reader(saved->data, saved->len);

	if (ops->load(dev, &in) != 0)
		fail_msg("%s: load failed: %s", ops->name, in.why ? in.why : "?");
	assert_int_equal(in.pos, saved->len); /* took all of it, no more */
}

#endif
