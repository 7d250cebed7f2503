/* For harnesses whose target reads files: one private directory per fuzzer
 * process, and a write that replaces a file in it with the input bytes. */
#ifndef QSDC_FUZZ_FILE_H
#define QSDC_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* $TMPDIR (else /dev/shm, else /tmp)/qsdc-fuzz-XXXXXX, created on first
 * use, removed at exit. */
const char *fuzz_dir(void);
/* Writes data to fuzz_dir()/name (replacing it); returns the path, static
 * storage rotated over 4 slots. Aborts if the write fails: that is the
 * harness's problem, not a finding. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t len);

#endif
