/* The ACLINT (CLINT-compatible): software and timer interrupts of M-mode. */
#ifndef CONDO_ACLINT_H
#define CONDO_ACLINT_H

#include "condo/cpu.h"
#include "condo/dev.h"

#define ACLINT_SIZE 0x10000

struct aclint;

/* harts must outlive the device. */
struct aclint *aclint_new(struct hart **harts, int nharts);
extern const struct dev_ops aclint_ops;

#endif
