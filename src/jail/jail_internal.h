/* Inside the jail component: the allow-list tables and the steps of
 * entering the jail, one file each. */
#ifndef JAIL_JAIL_INTERNAL_H
#define JAIL_JAIL_INTERNAL_H

#include "condo/jail.h"

#include <linux/filter.h>
#include <stdint.h>

/* A list of calls allowed without conditions on some thread kinds. */
struct jail_group {
	unsigned kinds;		  /* bit per enum jail_kind */
	const char *const *names; /* NULL-terminated system call names */
};

/* A call allowed when every comparison holds: (arg & mask) == value. */
struct jail_cmp {
	unsigned arg;
	uint64_t mask; /* 0 ends the list */
	uint64_t value;
};

struct jail_cond {
	const char *name;
	unsigned kinds;
	struct jail_cmp cmp[2];
};

/* A value compared against the process's own pid. */
#define JAIL_COND_SELF 0xfffffffeull

extern const struct jail_group jail_groups[]; /* ends with names == NULL */
extern const struct jail_group jail_sanitizer_group;
extern const struct jail_cond jail_conds[]; /* ends with name == NULL */

/* Were we built with a sanitizer (make SANITIZE=1)? */
#if defined(__SANITIZE_ADDRESS__)
#define JAIL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define JAIL_SANITIZED 1
#endif
#endif
#ifndef JAIL_SANITIZED
#define JAIL_SANITIZED 0
#endif

/* Note a layer the host did not allow (shown by jail_report). */
void jail_skip(struct jail *j, const char *what);

/* ns.c: namespaces and the jail directory. */
int jail_namespaces(struct jail *j, const char **paths, int npaths);
/* creds.c: uid/gid and capabilities. */
int jail_drop_user(struct jail *j);
int jail_userns(struct jail *j, int proc_fd, uid_t inside, gid_t ginside);
int jail_drop_bounding(struct jail *j);
int jail_clear_caps(void);
/* limits.c: rlimits and the cgroup leaf. */
int jail_cgroup(struct jail *j);
int jail_rlimits(struct jail *j);
/* filter.c: every kind's program for this process, the SIGSYS report. */
int jail_filters_prepare(struct jail *j);
/* Kind's program with self as the pid (malloc'd), from jail_progs. */
int jail_prog_for(enum jail_kind kind, uint32_t self, struct sock_filter **prog,
		  unsigned short *len);

/* rules.c (libseccomp; the build and the tests only): generate kind's
 * program with self as the pid (malloc'd), and a call's name (malloc'd,
 * NULL if none). */
int jail_rules_generate(enum jail_kind kind, uint32_t self, struct sock_filter **prog,
			unsigned short *len);
char *jail_rules_call_name(int nr);

/* Generated at build time ($(BUILD)/gen/jail_filters.c, by
 * src/jail/gen/gen_filters.c from rules.c): each kind's program made with
 * JAIL_SELF_MARK for the pid, and where the mark is. */
#define JAIL_SELF_MARK 0x3fffc0deu /* above any pid (pid_max <= 2^22) */
#define JAIL_NAMES     512	    /* x86-64 has about 460 calls; room for newer ones */

struct jail_prog {
	const struct sock_filter *insns;
	unsigned short len;
	const unsigned short *self_at; /* the instructions comparing with the pid */
	unsigned short nself;
};

extern const struct jail_prog jail_progs[JAIL_NKINDS];
/* Every call's name, for the SIGSYS report (which may not allocate). */
extern const char *const jail_call_names[JAIL_NAMES];

#endif
