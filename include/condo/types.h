/* Basic types shared by every component.  Guest addresses have their own
 * names so a guest value is never mistaken for a host pointer. */
#ifndef CONDO_TYPES_H
#define CONDO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gva_t; /* guest-virtual address */
typedef uint64_t gpa_t; /* guest-physical address */

#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE  (1ull << GUEST_PAGE_SHIFT)
#define GUEST_PAGE_MASK  (~(GUEST_PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
