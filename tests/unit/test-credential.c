/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cache/credential.c against the real `git credential`: the
 * description of a URL (user information dropped), a fill from a credential
 * helper named in a throw-away global git config (HOME points at a fresh
 * directory), approve and reject reaching that helper, and a fill nobody can
 * answer failing with git's own reason (terminal prompts are off).
 */
#include "credential.h"
#include "fsutil.h"
#include "tap.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmp[PATH_MAX];

static void test_init(void)
{
	struct credential c;

	is_int(credential_init(&c, "https://ada:pw@example.org:8443/o/r.git", "ada"), 0,
	       "init: a URL with user information");
	is_str(c.protocol, "https", "init: protocol");
	is_str(c.host, "example.org:8443", "init: host with port, without the user information");
	is_str(c.path, "o/r.git", "init: path without the leading slash");
	is_str(c.username, "ada", "init: the user name given");
	ok(c.password == NULL, "init: no password");
	credential_done(&c);
	is_int(credential_init(&c, "http://host", NULL), 0, "init: a URL without a path");
	ok(!strcmp(c.path, "") && c.username == NULL, "init: empty path, no user");
	credential_done(&c);
	is_int(credential_init(&c, "host:o/r.git", NULL), -EINVAL, "init: scp form refused");
	is_int(credential_init(&c, "https://h/a\nb", NULL), -EINVAL, "init: a newline refused");
	is_int(credential_init(&c, "https:///r", NULL), -EINVAL, "init: an empty host refused");
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	return write_atomic(path, NULL, 0, text, strlen(text), mode);
}

static void test_fill(void)
{
	char home[PATH_MAX + 8], path[PATH_MAX + 32], log[PATH_MAX + 16], script[2 * PATH_MAX];
	char *data = NULL;
	size_t len = 0;
	struct credential c;
	struct wf_err err = { "" };

	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(log, sizeof(log), "%s/calls", tmp);
	mkdir_p(home, 0700);
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_ASKPASS");
	unsetenv("SSH_ASKPASS");

	is_int(credential_init(&c, "https://example.org/o/r.git", NULL), 0, "fill: init");
	is_int(credential_fill(&c, &err), -EACCES, "fill: nobody to ask fails with -EACCES");
	ok(strstr(err.msg, "terminal prompts disabled"), "fill: with git's reason (%s)", err.msg);
	credential_done(&c);

	/* A helper that answers "get" and logs the other verbs with the password. */
	snprintf(path, sizeof(path), "%s/helper.sh", tmp);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\nin=$(cat)\ncase \"$1\" in\nget) echo username=ada; echo "
		 "password=s3cret;;\n*) echo \"$1 $(echo \"$in\" | grep -c password=s3cret)\" >> "
		 "'%s';;\nesac\n",
		 log);
	is_int(write_text(path, script, 0700), 0, "fill: helper written");
	snprintf(script, sizeof(script), "[credential]\n\thelper = %s\n", path);
	snprintf(path, sizeof(path), "%s/.gitconfig", home);
	is_int(write_text(path, script, 0600), 0, "fill: git config written");

	is_int(credential_init(&c, "https://example.org/o/r.git", NULL), 0, "fill: init again");
	wf_err_clear(&err);
	is_int(credential_fill(&c, &err), 0, "fill: the helper answers (%s)", err.msg);
	is_str(c.username, "ada", "fill: user name from the helper");
	is_str(c.password, "s3cret", "fill: password from the helper");
	credential_approve(&c);
	credential_reject(&c);
	credential_done(&c);
	ok(c.password == NULL && c.host == NULL, "done: everything freed");
	is_int(read_file(log, 4096, &data, &len), 0, "approve/reject: the helper was called");
	is_str(data, "store 1\nerase 1\n",
	       "approve/reject: store then erase, each with the password");
	free(data);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	if (system("git --version >/dev/null 2>&1") != 0)
		skip_all("git is not installed");
	snprintf(tmp, sizeof(tmp), "%s/wikifs-test-credential.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_init();
	test_fill();
	is_int(rm_rf(tmp), 0, "cleanup: temporary directory removed");
	return done_testing();
}
