/* Inside condod's resource handlers: what they share (names, a tenant's
 * usage against its quota). */
#ifndef CONDO_CTL_API_H
#define CONDO_CTL_API_H

#include "ctl/ctl.h"

#define API_NAME_RULE                                                                      \
	"name is 1 to 63 characters: lower-case letters, digits, '-', '_' and '.', starting " \
	"with a letter or digit"

/* What a tenant's VMs hold now. */
struct tenant_usage {
	int64_t vms, vcpus, memory_mib, disk_bytes;
};

bool api_name_ok(const char *name);
/* Where image id lives in the store: DATA/images/ID.qcow2. */
void api_image_path(const struct ctl *c, const char *id, char *out, size_t len);
bool api_tenant_exists(struct ctl *c, const char *id);
void api_tenant_usage(struct ctl *c, const char *tenant, struct tenant_usage *u);

#endif
