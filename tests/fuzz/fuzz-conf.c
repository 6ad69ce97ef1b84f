/* SPDX-License-Identifier: MIT */
/*
 * mount.conf: the input is a config file, optionally followed by a line
 * "#--overrides--" after which each line is one -o override. The file is a
 * memfd, so the real conf_load() path (fopen, getline, realpath) runs.
 * Promises checked: success and failure are exclusive (errors only on
 * failure), every loaded repository name is valid, the cache directory is
 * absolute, and the limits of the table hold.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

#define MAX_OVERRIDES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n#--overrides--\n";
	char *text = malloc(size + 1), *ov = NULL, *overrides[MAX_OVERRIDES], path[64];
	size_t n_ov = 0, flen = size;
	struct conf *c = NULL;
	struct buf errs;
	int fd, r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ov = memmem(text, size, sep, sizeof(sep) - 1);
	if (ov) {
		flen = (size_t)(ov - text);
		ov += sizeof(sep) - 1;
		for (char *save = NULL, *l = strtok_r(ov, "\n", &save); l && n_ov < MAX_OVERRIDES;
		     l = strtok_r(NULL, "\n", &save))
			overrides[n_ov++] = l;
	}
	fd = memfd_create("mount.conf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, text, flen) != (ssize_t)flen)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	buf_init(&errs, 1 << 20);
	r = conf_load(&c, path, overrides, n_ov, &errs);
	if (r == 0) {
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(errs.len == 0);
		FUZZ_CHECK(c->cache_dir && c->cache_dir[0] == '/');
		FUZZ_CHECK(c->clone_concurrency >= 1 && c->page_workers >= 1);
		for (size_t i = 0; i < c->n_repos; i++) {
			FUZZ_CHECK(conf_repo_name_valid(c->repos[i].name));
			FUZZ_CHECK(c->repos[i].url && c->repos[i].url[0]);
			for (size_t k = 0; k < i; k++)
				FUZZ_CHECK(strcmp(c->repos[i].name, c->repos[k].name));
		}
		conf_free(c);
	} else {
		FUZZ_CHECK(r < 0);
		FUZZ_CHECK(errs.len > 0);
	}
	buf_done(&errs);
	close(fd);
	free(text);
	return 0;
}
