/* Internet checksums (RFC 1071) for virtio-net's checksum offload: the
 * host completes the checksums a guest leaves partial, and checks the
 * ones of frames for a guest, at native speed instead of the guest's
 * emulated instructions. */
#include "condo/net.h"

#include <errno.h>
#include <string.h>

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int net_csum_complete(uint8_t *frame, size_t len, size_t start, size_t offset)
{
	uint16_t c;

	if (start >= len || offset > len - start || len - start - offset < 2)
		return -EINVAL;
	c = (uint16_t)~fold(sum16(frame + start, len - start, 0));
	frame[start + offset] = (uint8_t)(c >> 8);
	frame[start + offset + 1] = (uint8_t)c;
	return 0;
}

bool net_csum_valid(const uint8_t *f, size_t len)
{
	size_t ihl, tot, l4;
	uint32_t sum;
	uint8_t proto;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) /* IPv4 only */
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	tot = (size_t)f[16] << 8 | f[17];
	proto = f[23];
	if ((f[14] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > len)
		return false;
	if ((f[20] & 0x3f) || f[21]) /* a fragment: the checksum spans others */
		return false;
	if (fold(sum16(f + 14, ihl, 0)) != 0xffff)
		return false;
	l4 = tot - ihl;
	if (proto == 17 && l4 >= 8 && f[14 + ihl + 6] == 0 && f[14 + ihl + 7] == 0)
		return true; /* UDP without a checksum */
	if ((proto != 6 || l4 < 20) && (proto != 17 || l4 < 8))
		return false;
	/* the pseudo-header: addresses, protocol, length */
	sum = sum16(f + 26, 8, 0) + proto + (uint32_t)l4;
	return fold(sum16(f + 14 + ihl, l4, sum)) == 0xffff;
}
