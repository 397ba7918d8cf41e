/* libFuzzer harness: condo's NBD server (src/block/nbd_server.c), the
 * handshake's option parser and the transmission phase's request parser.
 * The input is what a client sends, byte for byte after the server's
 * greeting; its first byte chooses a read-only or writable export (bit 0)
 * and the export's name ("" or "disk", bit 1).  The export is a 1 MiB raw
 * disk on a memfd; replies go to /dev/null.  Nothing may crash, read or
 * write outside the disk, or loop once the input has ended. */
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ */
#include "condo/block.h"
#include "condo/nbd.h"
#include "fuzz.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define DISK_SIZE (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct block_dev *disk;
	static int devnull = -1;
	struct nbd_export exp;
	int pipefd[2];

	if (size < 1 || size > 60000) /* the whole input fits the pipe */
		return 0;
	if (!disk) {
		disk = block_open(fuzz_disk_path(DISK_SIZE), BLOCK_FORMAT_RAW, false);
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (!disk || devnull < 0)
			abort();
	}
	exp = (struct nbd_export){ .dev = disk, .readonly = data[0] & 1,
				   .name = data[0] & 2 ? "disk" : "" };
	if (pipe2(pipefd, O_CLOEXEC) < 0 || fcntl(pipefd[1], F_SETPIPE_SZ, 65536) < 0)
		abort();
	if (write(pipefd[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(pipefd[1]);
	nbd_serve(&exp, pipefd[0], devnull);
	close(pipefd[0]);
	return 0;
}
