/* The control socket's commands, run on the main thread (docs/control.md). */
#include "condo/log.h"
#include "machine/snapshot.h"
#include "machine/vm.h"

#include <jansson.h>
#include <string.h>

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", true);
}

json_t *control_error(const char *why)
{
	return json_pack("{s:b,s:s}", "ok", false, "error", why);
}

static json_t *status(struct vm *vm)
{
	json_t *harts = json_array();
	json_t *r;

	for (int i = 0; i < vm->ncpus; i++) {
		const struct vm_hart *vh = &vm->harts[i];
		static const char *const states[] = { [HART_STARTED] = "started",
						      [HART_STOPPED] = "stopped",
						      [HART_START_PENDING] = "starting" };

		json_array_append_new(harts, json_pack("{s:i,s:s,s:I}", "hartid", i,
						       "state", states[vh->state],
						       "instret", (json_int_t)vh->hart->instret));
	}
	r = json_pack("{s:b,s:s,s:i,s:I,s:o}", "ok", true, "state",
		      vm->paused ? "paused" : "running", "cpus", vm->ncpus, "mem",
		      (json_int_t)vm->cfg->mem_size, "harts", harts);
	return r;
}

static json_t *run(struct vm *vm, struct control_req *r)
{
	if (!strcmp(r->cmd, "status"))
		return status(vm);
	if (!strcmp(r->cmd, "pause")) {
		if (vm_pause(vm) < 0)
			return control_error("the VM is shutting down");
		/* a pause asked for in so many words outlives the client */
		r->holds_pause = false;
		return ok();
	}
	if (!strcmp(r->cmd, "resume")) {
		vm_resume(vm);
		r->holds_pause = false;
		return ok();
	}
	if (!strcmp(r->cmd, "quit")) {
		vm_resume(vm);
		vm_shutdown(vm, 0, false);
		return ok();
	}
	if (!strcmp(r->cmd, "snapshot"))
		return vm_snapshot_command(vm, r);
	if (!strcmp(r->cmd, "migrate"))
		return vm_migrate_command(vm, r);
	return control_error("unknown command (status, pause, resume, quit, snapshot, migrate)");
}

void vm_control_run(struct vm *vm)
{
	struct control_req *r = vm->control_req;

	if (!r || r->taken)
		return;
	r->taken = true;
	pthread_mutex_unlock(&vm->lock);
	r->reply = run(vm, r);
	pthread_mutex_lock(&vm->lock);
	r->done = true;
	vm->control_req = NULL;
	pthread_cond_broadcast(&vm->done_cond);
}
