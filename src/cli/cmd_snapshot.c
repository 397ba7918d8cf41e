/* condo snapshot: save a running VM through its control socket into a
 * snapshot directory, or check one (docs/snapshot.md). */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "condo/control_client.h"
#include "condo/block.h"
#include "condo/io.h"
#include "condo/log.h"
#include "condo/machine.h"
#include "condo/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char snapshot_usage[] =
	"Usage: condo snapshot --control SOCKET [--compress] [--stop] DIR\n"
	"       condo snapshot --check DIR\n"
	"Save the VM behind SOCKET (`condo run --control SOCKET`) into the new\n"
	"directory DIR, to resume it later with `condo run --restore DIR`.\n"
	"The VM is paused while its state, memory and disks are written; each\n"
	"writable disk is frozen as a copy in DIR (sparse; reflinked where the\n"
	"file system can), then the VM runs on (or ends, with --stop).\n"
	"\n"
	"Options:\n"
	"  --control SOCKET  the VM's control socket\n"
	"  --compress        compress memory with zstd (smaller; a restore then\n"
	"                    reads it all in instead of mapping it lazily)\n"
	"  --stop            end the VM once the snapshot is written\n"
	"  --check DIR       verify a snapshot: its manifest, every section's and\n"
	"                    the memory's CRC, and its disks\n"
	"  -h, --help        show this help\n"
	"Exit status: 0 done, 1 failed (nothing is left in DIR, the VM runs on), 2 usage.\n";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int open_new(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
}

/* Freeze one writable disk: a copy in the snapshot.  A qcow2 overlay's
 * backing file is named there by its absolute path, as the copy lies
 * elsewhere. */
static int freeze_disk(const char *dir, int i, json_t *d)
{
	const char *file = json_string_value(json_object_get(d, "file"));
	const char *fmt = json_string_value(json_object_get(d, "format"));
	char name[64];
	int dst, err;
	enum block_format format;

	if (!file || !fmt || block_format_parse(fmt, &format) < 0)
		return -EINVAL;
	if (format != BLOCK_FORMAT_RAW && format != BLOCK_FORMAT_QCOW2) {
		log_err("snapshot", "%s: a %s disk cannot be frozen (raw and qcow2 only)", file, fmt);
		return -ENOTSUP;
	}
	snprintf(name, sizeof(name), "disk%d.%s", i, fmt);
	dst = open_new(dir, name);
	err = dst < 0 ? -errno : copy_sparse_file(file, dst);
	if (dst >= 0)
		close(dst);
	if (!err && format == BLOCK_FORMAT_QCOW2) {
		struct block_dev *orig = block_open_shared(file, format, NULL), *copy;
		struct block_info info = { 0 };
		char path[PATH_MAX];

		if (orig)
			orig->ops->info(orig, &info);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (!orig) {
			err = -EIO;
		} else if (info.backing_file && info.backing_file[0] != '/') {
			copy = block_open_image_only(path, format, false);
			err = copy ? copy->ops->set_backing(copy, info.backing_path, info.backing_format)
				   : -EIO;
			if (copy)
				block_close(copy);
		}
		if (orig)
			block_close(orig);
	}
	if (err) {
		log_err("snapshot", "%s: cannot freeze the disk: %s", file, strerror(-err));
		return err;
	}
	json_object_set_new(d, "file", json_string(name));
	return 0;
}

static int write_manifest(const char *dir, json_t *m)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, SNAPSHOT_MANIFEST);
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_MANIFEST);
	if (json_dump_file(m, tmp, JSON_INDENT(2)) < 0)
		return -EIO;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* A failed snapshot leaves nothing behind. */
static void remove_snapshot(const char *dir)
{
	static const char *const names[] = { SNAPSHOT_STATE, SNAPSHOT_MEMORY, SNAPSHOT_MEMORY_Z,
					     SNAPSHOT_MANIFEST ".tmp" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "%s/disk%d.qcow2", dir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/disk%d.raw", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

static int save(const char *sock_path, const char *dir, bool compress, bool stop)
{
	json_t *req, *reply, *config, *drives, *d, *m;
	int fds[2] = { -1, -1 }, sock = -1, r = 1;
	double t0 = now_ms(), t_paused = 0, t_state = 0;
	bool was_paused = false;
	size_t i;

	if (mkdir(dir, 0755) < 0) {
		log_err("snapshot", "%s: %s", dir,
			errno == EEXIST ? "exists (a snapshot goes into a new directory)"
					: strerror(errno));
		return 1;
	}
	fds[0] = open_new(dir, SNAPSHOT_STATE);
	fds[1] = open_new(dir, compress ? SNAPSHOT_MEMORY_Z : SNAPSHOT_MEMORY);
	if (fds[0] < 0 || fds[1] < 0) {
		log_err("snapshot", "%s: cannot create its files: %s", dir, strerror(errno));
		goto out;
	}
	sock = control_connect("snapshot", sock_path);
	if (sock < 0)
		goto out;
	req = json_pack("{s:s,s:b}", "cmd", "snapshot", "compress", compress);
	t_paused = now_ms();
	reply = control_call("snapshot", sock, req, fds, 2);
	t_state = now_ms();
	json_decref(req);
	if (control_check("snapshot", reply) < 0) {
		json_decref(reply);
		close(sock); /* refused: nothing of ours to undo in the VM */
		sock = -1;
		goto out;
	}
	/* The VM is paused for us: its disks can be frozen.  One paused
	 * before stays paused. */
	was_paused = json_is_true(json_object_get(reply, "was_paused"));
	config = json_object_get(reply, "config");
	drives = json_object_get(config, "drives");
	json_array_foreach(drives, i, d) {
		if (!json_is_true(json_object_get(d, "readonly")) && freeze_disk(dir, (int)i, d) < 0) {
			json_decref(reply);
			goto out;
		}
	}
	if (fsync(fds[0]) < 0 || fsync(fds[1]) < 0) {
		log_err("snapshot", "%s: %s", dir, strerror(errno));
		json_decref(reply);
		goto out;
	}
	m = json_pack("{s:s,s:i,s:s,s:O,s:O,s:O}", "magic", SNAPSHOT_MAGIC, "version",
		      SNAPSHOT_VERSION, "arch", "rv64gc-virt", "config", config, "sections",
		      json_object_get(reply, "sections"), "memory", json_object_get(reply, "memory"));
	json_decref(reply);
	if (write_manifest(dir, m) < 0) {
		log_err("snapshot", "%s: cannot write the manifest: %s", dir, strerror(errno));
		json_decref(m);
		goto out;
	}
	json_decref(m);
	r = 0;
out:
	for (int k = 0; k < 2; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	if (r)
		remove_snapshot(dir);
	if (sock >= 0 && (!was_paused || (stop && !r))) {
		/* Done or not, the VM runs on, or ends when asked to. */
		json_t *last = json_pack("{s:s}", "cmd", stop && !r ? "quit" : "resume");
		json_t *ok = control_call("snapshot", sock, last, NULL, 0);

		if (control_check("snapshot", ok) < 0)
			r = 1;
		json_decref(last);
		json_decref(ok);
	}
	if (sock >= 0)
		close(sock);
	if (!r)
		printf("snapshot %s written in %.1f ms (state and memory %.1f ms, the VM paused "
		       "%.1f ms)\n", dir, now_ms() - t0, t_state - t_paused, now_ms() - t_paused);
	return r;
}

int cmd_snapshot(int argc, char **argv)
{
	enum { OPT_CONTROL = 256, OPT_COMPRESS, OPT_STOP, OPT_CHECK };
	static const struct option options[] = {
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "compress", no_argument, NULL, OPT_COMPRESS },
		{ "stop", no_argument, NULL, OPT_STOP },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	bool compress = false, stop = false, check = false;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONTROL: sock = optarg; break;
		case OPT_COMPRESS: compress = true; break;
		case OPT_STOP: stop = true; break;
		case OPT_CHECK: check = true; break;
		case 'h': fputs(snapshot_usage, stdout); return 0;
		default: cli_bad_option("snapshot", argv[optind - 1]); return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		log_err("snapshot", "expected one snapshot directory (see condo snapshot --help)");
		return CLI_EXIT_USAGE;
	}
	if (check)
		return vm_snapshot_check(argv[optind]) < 0 ? 1 : 0;
	if (!sock) {
		log_err("snapshot", "--control SOCKET: which VM to save");
		return CLI_EXIT_USAGE;
	}
	return save(sock, argv[optind], compress, stop);
}
