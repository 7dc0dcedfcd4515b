/* libFuzzer target for config_load: the input is written to a file under /tmp and loaded. */
#include "core/buf.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config_load reads a path, and src/core is not ours to change: one file
 * per fuzzing process, rewritten for every input. */
static char path[64];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(path, sizeof(path), "/tmp/postern-fuzz-config-%ld.conf", (long)getpid());
	atexit(remove_file);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct buf errors;
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	buf_init(&errors, 1 << 20);
	if (config_load(path, &cfg, &errors) == 0)
		config_free(&cfg);
	else if (errors.len == 0)
		abort(); /* every failure says why */
	buf_free(&errors);
	return 0;
}
