/* SHA-1 (src/util/sha1.c): only for protocols that name it, never for
 * security. */
#ifndef CONDO_SHA1_H
#define CONDO_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
