/* Taking a snapshot of the board: the state sections (harts, devices)
 * and the snapshot command of the control socket, which writes them and
 * guest RAM into the files the client sent (docs/snapshot.md). */
#include "condo/block.h"
#include "condo/dirtylog.h"
#include "condo/io.h"
#include "condo/log.h"
#include "condo/snapshot.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the sections ---- */

void vm_state_save(struct vm *vm, struct state_buf *cpu, struct state_buf *devs)
{
	state_put_tag(cpu, "BORD");
	state_put_u32(cpu, (uint32_t)vm->ncpus);
	state_put_u64(cpu, vm->cfg->mem_size);
	/* The VM's clock: a restore goes on from this tick (docs/snapshot.md). */
	state_put_u64(cpu, cpu_time(vm->harts[0].hart));
	for (int i = 0; i < vm->ncpus; i++) {
		const struct vm_hart *vh = &vm->harts[i];

		state_put_tag(cpu, "HART");
		state_put_u8(cpu, (uint8_t)vh->state);
		state_put_u64(cpu, vh->start_addr);
		state_put_u64(cpu, vh->start_arg);
		hart_save(vh->hart, cpu);
	}
	state_put_tag(devs, "DEVS");
	state_put_u32(devs, (uint32_t)vm->bus.count);
	for (int i = 0; i < vm->bus.count; i++) {
		const struct mmio_region *r = &vm->bus.regions[i];
		struct state_buf one = { 0 };
		size_t name = strlen(r->ops->name);

		state_put_u64(devs, r->base);
		state_put_u8(devs, (uint8_t)name);
		state_put(devs, r->ops->name, name);
		if (r->ops->save)
			r->ops->save(r->dev, &one);
		if (one.failed)
			state_fail(devs, one.why);
		state_put_u32(devs, (uint32_t)one.len);
		state_put(devs, one.data, one.len);
		state_free(&one);
	}
}

static int load_harts(struct vm *vm, struct state_buf *cpu)
{
	uint64_t clock, now;

	state_expect(cpu, "BORD");
	if (state_get_u32(cpu) != (uint32_t)vm->ncpus)
		return state_fail(cpu, "the snapshot's board has another number of harts");
	if (state_get_u64(cpu) != vm->cfg->mem_size)
		return state_fail(cpu, "the snapshot's board has another memory size");
	clock = state_get_u64(cpu);
	now = csr_time_now();
	for (int i = 0; i < vm->ncpus && !cpu->failed; i++) {
		struct vm_hart *vh = &vm->harts[i];
		uint8_t st;

		state_expect(cpu, "HART");
		st = state_get_u8(cpu);
		if (st > HART_START_PENDING)
			return state_fail(cpu, "a hart's HSM state is out of range");
		vh->state = st;
		vh->start_addr = state_get_u64(cpu);
		vh->start_arg = state_get_u64(cpu);
		if (hart_load(vh->hart, cpu) < 0)
			return -1;
		/* Guest time goes on from the tick it was saved at. */
		vh->hart->time_offset = now - clock;
		cpu_timer_poll(vh->hart);
		/* --max-insns counts what runs here, from the saved count on */
		if (vm->cfg->max_insns)
			vh->hart->insn_limit = vh->hart->instret + vm->cfg->max_insns;
	}
	return state_status(cpu);
}

static int load_devices(struct vm *vm, struct state_buf *devs)
{
	state_expect(devs, "DEVS");
	if (state_get_u32(devs) != (uint32_t)vm->bus.count)
		return state_fail(devs, "the snapshot's board has other devices");
	for (int i = 0; i < vm->bus.count && !devs->failed; i++) {
		const struct mmio_region *r = &vm->bus.regions[i];
		char name[256];
		uint8_t len;
		uint32_t size;
		struct state_buf one;

		if (state_get_u64(devs) != r->base)
			return state_fail(devs, "the snapshot's board has other devices");
		len = state_get_u8(devs);
		state_get(devs, name, len);
		if (devs->failed || len != strlen(r->ops->name) || memcmp(name, r->ops->name, len))
			return state_fail(devs, "the snapshot's board has other devices");
		size = state_get_u32(devs);
		if (size > devs->len - devs->pos)
			return state_fail(devs, "a device's state is truncated");
		one = state_reader(devs->data + devs->pos, size);
		devs->pos += size;
		if (!r->ops->load) {
			if (size)
				return state_fail(devs, "state for a device that has none");
			continue;
		}
		if (r->ops->load(r->dev, &one) < 0 || one.pos != one.len)
			return state_fail(devs, one.why ? one.why : "a device's state is too long");
	}
	return state_status(devs);
}

int vm_state_load(struct vm *vm, struct state_buf *cpu, struct state_buf *devs)
{
	if (load_harts(vm, cpu) < 0)
		return -1;
	if (cpu->pos != cpu->len)
		return state_fail(cpu, "the harts' section is too long");
	return load_devices(vm, devs);
}

/* ---- the configuration ---- */

json_t *vm_config_json(const struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	json_t *drives = json_array(), *nets = json_array();

	for (int i = 0; i < cfg->ndrives; i++) {
		const struct vm_drive *d = &cfg->drives[i];

		json_array_append_new(drives, json_pack("{s:s,s:s,s:b,s:I,s:i,s:b}", "file",
							d->host_path ? d->host_path : d->file,
							"format",
							block_format_name(vm->disks[i]->format),
							"readonly", d->readonly, "size",
							(json_int_t)vm->disks[i]->size, "cache", d->cache,
							"discard", d->discard));
	}
	for (int i = 0; i < cfg->nnets; i++)
		json_array_append_new(nets, json_string(cfg->net_specs[i] ? cfg->net_specs[i] : ""));
	return json_pack("{s:I,s:i,s:s?,s:s?,s:s?,s:s?,s:b,s:b,s:i,s:I,s:I,s:o,s:o}", "mem",
			 (json_int_t)cfg->mem_size, "cpus", cfg->cpus, "kernel", cfg->kernel_path,
			 "initrd", cfg->initrd_path, "append", cfg->append, "bios", cfg->bios_path,
			 "bios_none", cfg->bios_none, "kernel_raw", cfg->kernel_raw, "engine",
			 cfg->engine, "jit_cache", (json_int_t)cfg->jit_cache, "jit_threshold",
			 (json_int_t)cfg->jit_hot, "drives", drives, "nets", nets);
}

/* ---- the command ---- */

static json_t *section(const char *name, size_t off, const struct state_buf *b)
{
	return json_pack("{s:s,s:I,s:I,s:I}", "name", name, "offset", (json_int_t)off, "size",
			 (json_int_t)b->len, "crc32", (json_int_t)snapshot_crc(0, b->data, b->len));
}

/* The state file: the sections one after another. */
static int write_sections(int fd, struct state_buf *const *b, int n)
{
	for (int i = 0; i < n; i++) {
		int err = write_all(fd, b[i]->data, b[i]->len);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Args: "compress" (bool).  Files: the state file, the memory file.  The
 * VM stays paused for the client (its disks are frozen next: they must
 * not change), until it says resume or quit, or leaves. */
json_t *vm_snapshot_command(struct vm *vm, struct control_req *r)
{
	bool compress = json_is_true(json_object_get(r->args, "compress"));
	struct state_buf cpu = { 0 }, devs = { 0 }, map = { 0 }, index = { 0 };
	uint64_t words = (vm->ram.size / GUEST_PAGE_SIZE + 63) / 64, pages = 0;
	uint64_t *stored = NULL;
	uint32_t crc = 0;
	json_t *reply = NULL, *sections;
	const char *why = NULL;
	bool was_paused;
	int err;

	if (r->nfds != 2)
		return control_error("snapshot: send the state and memory files with the request");
	/* A VM paused before (condo control pause) stays paused after. */
	was_paused = vm->paused;
	if (vm_pause(vm) < 0)
		return control_error("the VM is shutting down");
	r->holds_pause = !was_paused;
	vm_state_save(vm, &cpu, &devs);
	stored = malloc(words * 8);
	if (!stored) {
		why = "out of memory";
		goto out;
	}
	memcpy(stored, vm->ram.dirty->touched, words * 8);
	err = snapshot_memory_write(r->fds[1], vm->ram.host, vm->ram.size, stored,
				    compress ? &index : NULL, &crc, &pages);
	if (err < 0) {
		why = "cannot write the memory file";
		log_err("snapshot", "writing the memory file: %s", strerror(-err));
		goto out;
	}
	for (uint64_t i = 0; i < words; i++)
		state_put_u64(&map, stored[i]);
	if (cpu.failed || devs.failed || map.failed || index.failed) {
		why = cpu.why ? cpu.why : devs.why ? devs.why : map.why ? map.why : index.why;
		goto out;
	}
	err = write_sections(r->fds[0], (struct state_buf *const[]){ &cpu, &devs, &map, &index }, 4);
	for (int i = 0; i < vm->cfg->ndrives && !err; i++)
		if (!vm->cfg->drives[i].readonly)
			err = block_flush(vm->disks[i]);
	if (err < 0) {
		why = "cannot write the state file or flush a disk";
		log_err("snapshot", "%s: %s", why, strerror(-err));
		goto out;
	}
	sections = json_pack("[o,o,o,o]", section("cpu", 0, &cpu),
			     section("devices", cpu.len, &devs),
			     section("memory-map", cpu.len + devs.len, &map),
			     section("memory-index", cpu.len + devs.len + map.len, &index));
	reply = json_pack("{s:b,s:b,s:o,s:{s:s,s:b,s:I,s:I},s:o}", "ok", true, "was_paused",
			  was_paused, "sections", sections,
			  "memory", "file", compress ? SNAPSHOT_MEMORY_Z : SNAPSHOT_MEMORY,
			  "compressed", compress, "pages", (json_int_t)pages, "crc32",
			  (json_int_t)crc, "config", vm_config_json(vm));
out:
	free(stored);
	state_free(&cpu);
	state_free(&devs);
	state_free(&map);
	state_free(&index);
	return reply ? reply : control_error(why ? why : "snapshot failed");
}
