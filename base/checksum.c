#include "checksum.h"

uint64_t checksum_add(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t checksum_of(const void *data, size_t len)
{
    return checksum_add(CHECKSUM_INIT, data, len);
}
