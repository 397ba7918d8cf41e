/* An interrupt line for device unit tests: records its level, how often
 * it was set, and how often it was raised. */
#ifndef TEST_FAKE_IRQ_H
#define TEST_FAKE_IRQ_H

#include <stdbool.h>

struct fake_irq {
	bool level;
	int sets;
	int raises;
};

static inline void fake_irq_set(void *ctrl, unsigned irq, bool level)
{
	struct fake_irq *f = ctrl;

	(void)irq;
	f->level = level;
	f->sets++;
	if (level)
		f->raises++;
}

#endif
