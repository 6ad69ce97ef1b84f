/* SPDX-License-Identifier: MIT */
/*
 * The Universal Ctags client. One child runs `ctags --_interactive=sandbox`;
 * its stdin is produced by stdin_piece() as the pipe drains (a JSON command
 * line built with cJSON, then the file's bytes), its stdout is cut into lines
 * by core/child and parsed here with cJSON. ctags answers the commands in
 * order, each answer ending with {"_type": "completed"}, so the files in
 * flight (written, not yet completed) form a FIFO whose head owns every tag
 * line that arrives. The FIFO is bounded by the pipe: nothing more is asked
 * of the caller while the pipe is full. A file's tags are kept until its
 * "completed" line, then filtered, put right, sorted by line and handed
 * over; their strings live in one buffer reset per file.
 *
 * The file name given to ctags is synthetic ("f.c", "f.h", "f.py"): it only
 * picks the parser, and a repository path could hold bytes ctags' JSON
 * reader would refuse.
 */
#include "ctags.h"
#include "child.h"
#include "buf.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define CTAGS_LINE_MAX	  (16u << 10)
#define CTAGS_STRINGS_MAX (4u << 20) /* tag strings kept per file */
#define CTAGS_COMMAND_MAX 512

/* lang.h names and the extension that makes ctags pick the parser. */
static const struct {
	const char *lang, *ext, *header_ext;
} langs[] = {
	{ "C", "c", "h" },	    { "C++", "cpp", "hpp" },	  { "Objective-C", "m", "h" },
	{ "Java", "java", NULL },   { "Python", "py", NULL },	  { "Go", "go", NULL },
	{ "Rust", "rs", NULL },	    { "JavaScript", "js", NULL }, { "TypeScript", "ts", NULL },
	{ "Kotlin", "kt", NULL },   { "C#", "cs", NULL },	  { "Ruby", "rb", NULL },
	{ "PHP", "php", NULL },	    { "Shell", "sh", NULL },	  { "Lua", "lua", NULL },
	{ "Perl", "pl", NULL },	    { "OCaml", "ml", NULL },	  { "Elixir", "ex", NULL },
	{ "Erlang", "erl", NULL },  { "R", "r", NULL },		  { "Julia", "jl", NULL },
	{ "Clojure", "clj", NULL }, { "Haskell", "hs", NULL },
};

/* The kinds kept, by ctags' long name, and the static string we report. */
static const char *const kept_kinds[] = {
	"function", "func",	 "method",	    "prototype",
	"class",    "struct",	 "union",	    "enum",
	"typedef",  "type",	 "interface",	    "trait",
	"macro",    "const",	 "constant",	    "variable",
	"var",	    "module",	 "implementation",  "object",
	"record",   "generator", "singletonMethod", "member",
	"talias",   "alias",
};

struct tag {
	unsigned line;
	const char *kind;
	size_t name, scope, signature, access; /* offsets in strings, 0: none */
	bool file_scope;
};

struct session {
	const struct ctags_source *src;
	struct ctags_file *fifo; /* files written, not completed */
	size_t head, count, cap;
	char cmd[CTAGS_COMMAND_MAX];
	const char *piece_data; /* the file text, after its command line */
	size_t piece_len;
	bool started;  /* the "program" line was seen */
	bool skipping; /* inside a line longer than CTAGS_LINE_MAX */
	struct tag *tags;
	size_t ntags, tags_cap;
	struct buf strings; /* offset 0 is a NUL: "none" */
	int err;
	char why[200];
};

bool ctags_lang_supported(const char *lang)
{
	for (size_t i = 0; lang && i < ARRAY_SIZE(langs); i++)
		if (!strcmp(langs[i].lang, lang))
			return true;
	return false;
}

static bool is_header(const char *path)
{
	const char *b = strrchr(path, '/'), *e;

	b = b ? b + 1 : path;
	e = strrchr(b, '.');
	return e && e != b && tolower((unsigned char)e[1]) == 'h';
}

static const char *ext_for(const struct ctags_file *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(langs); i++)
		if (!strcmp(langs[i].lang, f->lang))
			return langs[i].header_ext && is_header(f->path) ? langs[i].header_ext
									 : langs[i].ext;
	return NULL;
}

/* ---- writing ---------------------------------------------------------------- */

static int fifo_push(struct session *s, const struct ctags_file *f)
{
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct ctags_file *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < s->count; i++)
			n[i] = s->fifo[(s->head + i) % s->cap];
		free(s->fifo);
		s->fifo = n;
		s->cap = cap;
		s->head = 0;
	}
	s->fifo[(s->head + s->count) % s->cap] = *f;
	s->count++;
	return 0;
}

/* The command line of @f, built with cJSON. */
static int command_of(struct session *s, const struct ctags_file *f, const char *ext)
{
	char name[32];
	cJSON *o = cJSON_CreateObject();
	char *txt;
	int r = -ENOMEM;

	snprintf(name, sizeof(name), "f.%s", ext);
	if (o && cJSON_AddStringToObject(o, "command", "generate-tags") &&
	    cJSON_AddStringToObject(o, "filename", name) &&
	    cJSON_AddNumberToObject(o, "size", (double)f->len) &&
	    (txt = cJSON_PrintUnformatted(o))) {
		r = snprintf(s->cmd, sizeof(s->cmd), "%s\n", txt) < (int)sizeof(s->cmd) ? 0
											: -E2BIG;
		cJSON_free(txt);
	}
	cJSON_Delete(o);
	return r;
}

/* child_stdin_fn: a file's command line, then its bytes, then the next file. */
static int stdin_piece(void *opaque, const void **data, size_t *len)
{
	struct session *s = opaque;
	struct ctags_file f = { 0 };
	const char *ext;
	int r;

	if (s->piece_data) {
		*data = s->piece_data;
		*len = s->piece_len;
		s->piece_data = NULL;
		return 1;
	}
	do {
		r = s->src->next(s->src->ctx, &f);
		if (r <= 0)
			return r;
		ext = f.lang ? ext_for(&f) : NULL;
		if (!ext) /* not ours after all: finished, with no symbols */
			s->src->file_done(s->src->ctx, &f, true);
	} while (!ext);
	r = command_of(s, &f, ext);
	if (r == 0)
		r = fifo_push(s, &f);
	if (r < 0) {
		s->src->file_done(s->src->ctx, &f, false);
		return r;
	}
	s->piece_data = f.len ? f.text : NULL;
	s->piece_len = f.len;
	*data = s->cmd;
	*len = strlen(s->cmd);
	return 1;
}

/* ---- reading ---------------------------------------------------------------- */

static size_t keep_str(struct session *s, const char *v, size_t max)
{
	size_t off = s->strings.len;

	if (!v || !*v)
		return 0;
	if (buf_add(&s->strings, v, strnlen(v, max)) < 0 || buf_addc(&s->strings, '\0') < 0)
		return 0;
	return off;
}

static const char *str_at(const struct session *s, size_t off)
{
	return off ? s->strings.data + off : NULL;
}

static const char *kept_kind(const char *kind)
{
	for (size_t i = 0; kind && i < ARRAY_SIZE(kept_kinds); i++)
		if (!strcmp(kind, kept_kinds[i]))
			return kept_kinds[i];
	return NULL;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ctags' names for what has none ("AnonymousFunction7c95...", "__anon1a2b"): no symbol. */
static bool anonymous(const char *name)
{
	return name && (strstr(name, "AnonymousFunction") || strstr(name, "__anon"));
}

/* Keeps one tag line of the head file, if its kind is one we report. */
static void take_tag(struct session *s, const cJSON *o)
{
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");
	const char *kind = kept_kind(json_str(o, "kind")), *name = json_str(o, "name");
	struct tag *t;

	if (!kind || !name || !*name || !cJSON_IsNumber(line) || line->valuedouble < 1 ||
	    s->ntags >= CTAGS_FILE_TAGS_MAX || anonymous(name) || anonymous(json_str(o, "scope")))
		return;
	if (s->ntags == s->tags_cap) {
		size_t cap = s->tags_cap ? s->tags_cap * 2 : 64;
		struct tag *n = realloc(s->tags, cap * sizeof(*n));

		if (!n)
			return;
		s->tags = n;
		s->tags_cap = cap;
	}
	t = &s->tags[s->ntags];
	*t = (struct tag){ .line = (unsigned)line->valuedouble, .kind = kind };
	t->name = keep_str(s, name, 200);
	if (!t->name)
		return;
	t->scope = keep_str(s, json_str(o, "scope"), CTAGS_SCOPE_MAX);
	if (t->scope && !strcmp(s->fifo[s->head].lang, "Go")) {
		/* "pkg.Type": the package is no class */
		const char *dot = strchr(str_at(s, t->scope), '.');

		if (dot && dot[1])
			t->scope += (size_t)(dot + 1 - str_at(s, t->scope));
	}
	t->signature = keep_str(s, json_str(o, "signature"), CTAGS_SIGNATURE_MAX);
	t->access = keep_str(s, json_str(o, "access"), 32);
	t->file_scope = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "file"));
	if (json_str(o, "scopeKind") && (!strcmp(json_str(o, "scopeKind"), "package") ||
					 !strcmp(json_str(o, "scopeKind"), "namespace")))
		t->scope = 0; /* Go's package, C++ namespaces: not a class */
	if (t->scope && !strcmp(kind, "func"))
		t->kind = "method"; /* Go: a function with a receiver */
	s->ntags++;
}

/* ---- putting ctags' answer right -------------------------------------------- */

struct lines {
	const char *text;
	size_t len;
	size_t *start; /* start[i]: offset of line i + 1 */
	size_t n;
};

static int lines_init(struct lines *l, const struct ctags_file *f)
{
	size_t n = 1;

	*l = (struct lines){ f->text, f->len, NULL, 0 };
	for (size_t i = 0; i < f->len; i++)
		n += f->text[i] == '\n';
	l->start = malloc(n * sizeof(*l->start));
	if (!l->start)
		return -ENOMEM;
	l->start[l->n++] = 0;
	for (size_t i = 0; i < f->len; i++)
		if (f->text[i] == '\n')
			l->start[l->n++] = i + 1;
	return 0;
}

/* Line @ln (1-based) as [*b, return); NULL past the end. */
static const char *line_at(const struct lines *l, unsigned ln, const char **b)
{
	const char *e;

	if (ln < 1 || ln > l->n)
		return NULL;
	*b = l->text + l->start[ln - 1];
	e = memchr(*b, '\n', (size_t)(l->text + l->len - *b));
	return e ? e : l->text + l->len;
}

static const char *skip_sp(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static size_t id_len(const char *p, const char *e)
{
	size_t n = 0;

	while (p + n < e && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$'))
		n++;
	return n && !isdigit((unsigned char)*p) ? n : 0;
}

/*
 * "a.b.name = function" or "a.name = async function" at the start of a line:
 * the object path in [*obj, *obj + *on) and the name in [*nm, *nm + *nn).
 */
static bool js_assign(const char *b, const char *e, const char **obj, size_t *on, const char **nm,
		      size_t *nn)
{
	const char *p = skip_sp(b, e), *last = NULL;
	size_t n;

	*obj = p;
	while ((n = id_len(p, e))) {
		if (p + n < e && p[n] == '.') {
			last = p + n;
			p += n + 1;
			continue;
		}
		break;
	}
	if (!last || !n)
		return false;
	*on = (size_t)(last - *obj);
	*nm = p;
	*nn = n;
	p = skip_sp(p + n, e);
	if (p >= e || *p != '=' || (p + 1 < e && p[1] == '='))
		return false;
	p = skip_sp(p + 1, e);
	if (e - p >= 6 && !memcmp(p, "async", 5) && (p[5] == ' ' || p[5] == '\t'))
		p = skip_sp(p + 5, e);
	return e - p >= 8 && !memcmp(p, "function", 8) && (p + 8 == e || !id_len(p + 8, e));
}

static bool lang_is(const struct ctags_file *f, const char *a, const char *b)
{
	return !strcmp(f->lang, a) || (b && !strcmp(f->lang, b));
}

static bool c_family(const struct ctags_file *f)
{
	return lang_is(f, "C", "C++") || !strcmp(f->lang, "Objective-C");
}

/* "#define NAME" right after "#ifndef NAME" (or "#if !defined(NAME)"). */
static bool include_guard(const struct lines *l, unsigned ln, const char *name)
{
	const char *b, *e = line_at(l, ln, &b), *p;
	size_t nl = strlen(name);

	if (!e || !(p = memchr(b, '#', (size_t)(e - b))))
		return false;
	p = skip_sp(p + 1, e);
	if (e - p < 6 || memcmp(p, "define", 6))
		return false;
	p = skip_sp(p + 6, e);
	if ((size_t)(e - p) < nl || memcmp(p, name, nl) || skip_sp(p + nl, e) != e)
		return false; /* it has a value: a real macro */
	for (unsigned k = ln - 1; k >= 1 && k + 3 >= ln; k--) {
		e = line_at(l, k, &b);
		p = skip_sp(b, e);
		if (p < e && *p == '#' && memmem(p, (size_t)(e - p), name, nl) &&
		    (memmem(p, (size_t)(e - p), "ifndef", 6) ||
		     memmem(p, (size_t)(e - p), "!defined", 8)))
			return true;
	}
	return false;
}

/* The kind we report for @t, or NULL to drop it. */
static const char *report_kind(const struct session *s, const struct ctags_file *f,
			       const struct lines *l, const struct tag *t)
{
	const char *k = t->kind;

	if (!strcmp(k, "member"))
		return lang_is(f, "Python", NULL) ? "method" : NULL; /* elsewhere a field */
	if (!strcmp(k, "singletonMethod"))
		return "method";
	if (!strcmp(k, "talias") || !strcmp(k, "alias"))
		return "type";
	if (!strcmp(k, "prototype") && !is_header(f->path))
		return NULL; /* a forward declaration in a .c file: the definition counts */
	if ((!strcmp(k, "variable") || !strcmp(k, "var")) && t->scope)
		return NULL;
	if (!strcmp(k, "macro") && c_family(f) && include_guard(l, t->line, str_at(s, t->name)))
		return NULL;
	if (!strcmp(k, "module") && lang_is(f, "Python", NULL))
		return NULL;
	if ((!strcmp(k, "variable") || !strcmp(k, "constant")) &&
	    lang_is(f, "JavaScript", "TypeScript")) {
		/* an import ("var x = require(...)") or a local ctags took for a global */
		const char *b = NULL, *e = line_at(l, t->line, &b);

		if (!e || b == e || *b == ' ' || *b == '\t' ||
		    memmem(b, (size_t)(e - b), "require(", 8))
			return NULL;
	}
	return k;
}

/* JavaScript: "obj.name = function" named after obj, or missed (a "get" or "set"). */
static void js_fix(struct session *s, const struct lines *l)
{
	size_t n0 = s->ntags;

	for (unsigned ln = 1; ln <= l->n; ln++) {
		const char *b = NULL, *e = line_at(l, ln, &b), *obj, *nm;
		size_t on, nn;
		bool found = false;

		if (!e || !js_assign(b, e, &obj, &on, &nm, &nn))
			continue;
		for (size_t i = 0; i < n0; i++) {
			struct tag *t = &s->tags[i];
			const char *tn = str_at(s, t->name);

			if (t->line != ln)
				continue;
			if (strlen(tn) == nn && !memcmp(tn, nm, nn)) {
				found = true;
			} else if (!strncmp(tn, obj, strlen(tn)) && !t->scope) {
				/* named after the object: this is the function */
				t->name = keep_str(s, nm, nn);
				t->name = t->name ? t->name : keep_str(s, "?", 1);
				found = true;
			}
			if (found && !t->scope)
				t->scope = keep_str(s, obj, on);
		}
		if (!found && s->ntags < s->tags_cap) {
			s->tags[s->ntags] = (struct tag){ .line = ln, .kind = "function" };
			s->tags[s->ntags].name = keep_str(s, nm, nn);
			s->tags[s->ntags].scope = keep_str(s, obj, on);
			s->ntags += s->tags[s->ntags].name != 0;
		}
	}
}

static int cmp_tag(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	/* the scoped twin of a tag first, so the plain one is the duplicate */
	if (!x->scope != !y->scope)
		return x->scope ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void ctags_fix_deliver(struct session *s, const struct ctags_file *f)
{
	struct lines l;

	if (lines_init(&l, f) < 0)
		return;
	if (lang_is(f, "JavaScript", "TypeScript")) {
		/* room for the tags js_fix() may add */
		struct tag *n = realloc(s->tags, (s->ntags + 256) * sizeof(*n));

		if (n) {
			s->tags = n;
			s->tags_cap = s->ntags + 256;
			js_fix(s, &l);
		}
	}
	qsort(s->tags, s->ntags, sizeof(*s->tags), cmp_tag);
	for (size_t i = 0; i < s->ntags; i++) {
		const struct tag *t = &s->tags[i];
		const char *kind = report_kind(s, f, &l, t), *name = str_at(s, t->name);
		bool dup = false;

		for (size_t k = i; k-- > 0 && s->tags[k].line == t->line && !dup;)
			dup = !strcmp(str_at(s, s->tags[k].name), name);
		if (kind && !dup) {
			struct ctags_symbol sym = { t->line,
						    kind,
						    name,
						    str_at(s, t->scope),
						    str_at(s, t->signature),
						    t->file_scope,
						    str_at(s, t->access) };

			s->src->symbol(s->src->ctx, f, &sym);
		}
	}
	free(l.start);
}

static void finish_head(struct session *s, bool ok)
{
	struct ctags_file f = s->fifo[s->head];

	s->head = (s->head + 1) % s->cap;
	s->count--;
	if (ok)
		ctags_fix_deliver(s, &f);
	s->ntags = 0;
	buf_reset(&s->strings);
	(void)buf_addc(&s->strings, '\0');
	s->src->file_done(s->src->ctx, &f, ok);
}

static int protocol(struct session *s, const char *why, const char *line)
{
	snprintf(s->why, sizeof(s->why), "%s: %.120s", why, line);
	s->err = -EPROTO;
	return -EPROTO;
}

/* child_line_fn: one JSON line from ctags. */
static int on_line(void *opaque, const char *line, size_t len, unsigned flags)
{
	struct session *s = opaque;
	cJSON *o;
	const char *type, *end = NULL;
	int r = 1;

	if (s->skipping || (flags & CHILD_LINE_PARTIAL)) {
		s->skipping = (flags & CHILD_LINE_PARTIAL) != 0;
		return 1; /* an overlong line: that tag is lost */
	}
	o = cJSON_ParseWithOpts(line, &end, 0);
	type = o ? json_str(o, "_type") : NULL;
	if (!type)
		r = protocol(s, "unreadable answer from ctags", line);
	else if (!strcmp(type, "program"))
		s->started = true;
	else if (!s->started)
		r = protocol(s, "ctags did not start in interactive mode", line);
	else if (!strcmp(type, "tag") && s->count)
		take_tag(s, o);
	else if (!strcmp(type, "completed") && s->count)
		finish_head(s, true);
	else if (!strcmp(type, "error") &&
		 !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "warning")))
		r = protocol(s, "ctags failed", line);
	else if (strcmp(type, "error") && strcmp(type, "ptag"))
		r = protocol(s, "unexpected answer from ctags", line);
	cJSON_Delete(o);
	return r;
}

int ctags_run(const struct ctags_opts *o, const struct ctags_source *src, struct wf_err *err)
{
	const char *path = o && o->path ? o->path : CTAGS_PATH;
	char *const argv[] = {
		(char *)path,  "--options=NONE", "--_interactive=sandbox", "--fields=+KSsnZfa",
		"--fields=-P", "--kinds-C=+p",	 "--kinds-C++=+p",	   NULL,
	};
	struct session s = { .src = src };
	struct child_opts co = {
		.path = path,
		.argv = argv,
		.stdin_fn = stdin_piece,
		.stdin_opaque = &s,
		.out = { .on_line = on_line, .opaque = &s },
		.line_max = CTAGS_LINE_MAX,
		.pdeathsig = SIGKILL,
		.timeout_ms = o ? o->timeout_ms : 0,
		.stall_ms = o ? o->stall_ms : 0,
	};
	int status = 0, r;

	buf_init(&s.strings, CTAGS_STRINGS_MAX);
	(void)buf_addc(&s.strings, '\0');
	if (access(path, X_OK) < 0)
		r = wf_err_set(err, -errno, "cannot run ctags '%s': %s", path, strerror(errno));
	else
		r = child_run(&co, &status, err);
	if (r == -EPROTO && s.err)
		wf_err_set(err, r, "%s", s.why);
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) || s.count))
		r = wf_err_set(err, -ECHILD,
			       "ctags '%s' ended early (status %d, %zu files unanswered)", path,
			       status, s.count);
	while (s.count)
		finish_head(&s, false);
	free(s.fifo);
	free(s.tags);
	buf_done(&s.strings);
	return r;
}
