/* FNV-1a 64: the checksum of bytes that qsdc hands to a driver or compiler
 * (bundle sources and binaries, cached program binaries). It finds accidental
 * damage and files that do not belong together; it is no signature: whoever
 * can write the file can write a matching checksum. */
#ifndef QSDC_CHECKSUM_H
#define QSDC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_INIT 0xcbf29ce484222325ULL

/* h continued over len bytes of data (start from CHECKSUM_INIT). */
uint64_t checksum_add(uint64_t h, const void *data, size_t len);
/* The checksum of len bytes of data. */
uint64_t checksum_of(const void *data, size_t len);

#endif
