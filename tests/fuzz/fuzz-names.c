/* SPDX-License-Identifier: MIT */
/*
 * Path and page-name sanitization: plan_slugify() (page file names from
 * untrusted titles) and conf_repo_name_valid() (directory names from
 * mount.conf). The input is one name. Promises checked: a slug is a safe,
 * bounded, strict-UTF-8 file name and slugifying it again changes nothing;
 * an accepted repository name is one or two safe path components.
 */
#include "fuzz.h"

#include <string.h>

#include "conf.h"
#include "plan.h"

static void check_slug(const char *s)
{
	size_t n = strlen(s);
	char *again;

	FUZZ_CHECK(n > 0 && n <= PLAN_MAX_SLUG_LEN);
	FUZZ_CHECK(!strchr(s, '/') && !strstr(s, ".."));
	FUZZ_CHECK(s[0] != '.' && s[0] != '-');
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] > 0x20 && s[i] != 0x7f);
	FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)s, n));
	again = plan_slugify(s);
	FUZZ_CHECK(again && !strcmp(again, s));
	free(again);
}

static void check_repo_name(const char *name)
{
	size_t n = strlen(name), slashes = 0;

	FUZZ_CHECK(n > 0 && n <= 200);
	FUZZ_CHECK(name[0] != '/' && name[n - 1] != '/' && name[0] != '.');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\');
		if (c == '/') {
			slashes++;
			FUZZ_CHECK(name[i + 1] != '.' && name[i + 1] != '/');
		}
	}
	FUZZ_CHECK(slashes <= 1);
	/* it becomes a directory name and a string in progress.json */
	FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)name, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = strndup((const char *)data, size), *slug;

	if (!name)
		return 0;
	slug = plan_slugify(name);
	if (slug)
		check_slug(slug);
	free(slug);
	if (conf_repo_name_valid(name))
		check_repo_name(name);
	free(name);
	return 0;
}
