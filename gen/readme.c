/* SPDX-License-Identifier: MIT */
/*
 * README rewriting, the blocks. The README is read line by line, as
 * CommonMark reads blocks, and written back block by block: fenced and
 * indented code become fences of our own, longer than any backtick run
 * inside, so no README line can close them early or leave one open;
 * headings are demoted below the page's own "##"; HTML comments, link
 * definitions and thematic breaks go; an HTML block keeps its text only.
 * Paragraphs, list items, quotes and tables keep their line structure and
 * indentation and go through readme_inline.c as a whole (a link may span
 * lines); an output line that could start a block where the README's did
 * not (text left at a line's start once a tag or a badge is gone) is
 * escaped. The section ends only between blocks, so a sentence is never
 * cut: at the first heading once README_MIN_BYTES are written, or at any
 * block past README_MAX_BYTES.
 */
#include "readme_int.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define README_MIN_BYTES   800	/* a section shorter than this takes the next one too */
#define README_MAX_BYTES   6000 /* no block starts past this */
#define README_CODE_LINES  60	/* lines of one code block */
#define README_TEXT_LINES  40	/* lines of a plain-text README */
#define README_DEFS_MAX	   512
#define README_LIST_INDENT 16

/* ---- lines ------------------------------------------------------------------ */

struct line {
	const char *s; /* the line without its indentation */
	size_t n;      /* without the newline and a CR */
	unsigned indent;
	const char *raw; /* the whole line */
	const char *next;
};

static bool get_line(const char *p, const char *end, struct line *l)
{
	const char *nl;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	l->raw = p;
	l->next = nl ? nl + 1 : end;
	l->n = (size_t)((nl ? nl : end) - p);
	if (l->n && p[l->n - 1] == '\r')
		l->n--;
	l->indent = 0;
	l->s = p;
	while (l->n && (*l->s == ' ' || *l->s == '\t')) {
		l->indent += *l->s == '\t' ? 4 - l->indent % 4 : 1;
		l->s++;
		l->n--;
	}
	while (l->n && isspace((unsigned char)l->s[l->n - 1]))
		l->n--;
	return true;
}

/* The fence character and length if @l opens (or closes) a fence, else 0. */
static size_t fence_len(const struct line *l, char *ch)
{
	size_t k = 0;

	if (l->indent > 3 || l->n < 3 || (l->s[0] != '`' && l->s[0] != '~'))
		return 0;
	while (k < l->n && l->s[k] == l->s[0])
		k++;
	if (k < 3 || (l->s[0] == '`' && memchr(l->s + k, '`', l->n - k)))
		return 0;
	*ch = l->s[0];
	return k;
}

/* ATX heading level, or 0; *@t, *@tn its text. */
static int heading(const struct line *l, const char **t, size_t *tn)
{
	size_t k = 0, n;

	if (l->indent > 3)
		return 0;
	while (k < l->n && l->s[k] == '#')
		k++;
	if (k == 0 || k > 6 || (k < l->n && l->s[k] != ' ' && l->s[k] != '\t'))
		return 0;
	*t = l->s + k;
	n = l->n - k;
	while (n && (**t == ' ' || **t == '\t'))
		(*t)++, n--;
	while (n && ((*t)[n - 1] == '#' || (*t)[n - 1] == ' '))
		n--;
	*tn = n;
	return (int)k;
}

/* A line of only @c (and spaces): a setext underline or a thematic break. */
static bool only_of(const struct line *l, const char *set)
{
	size_t marks = 0;

	if (l->indent > 3 || l->n == 0)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		if (l->s[i] == ' ')
			continue;
		if (!strchr(set, l->s[i]) || l->s[i] != l->s[0])
			return false;
		marks++;
	}
	return marks >= 1;
}

static bool thematic_break(const struct line *l)
{
	size_t marks = 0;

	if (!only_of(l, "-*_"))
		return false;
	for (size_t i = 0; i < l->n; i++)
		marks += l->s[i] != ' ';
	return marks >= 3;
}

/* Length of a list marker with its space ("- ", "12. "), or 0. */
static size_t list_marker(const char *s, size_t n)
{
	size_t k = 0;

	if (n >= 2 && strchr("-*+", s[0]) && s[1] == ' ')
		return 2;
	while (k < n && k < 9 && isdigit((unsigned char)s[k]))
		k++;
	if (k && k + 1 < n && (s[k] == '.' || s[k] == ')') && s[k + 1] == ' ')
		return k + 2;
	return 0;
}

/* "[label]: url": a link reference definition. */
static bool parse_def(const struct line *l, struct rdef *d)
{
	const char *s = l->s, *e = l->s + l->n, *c;

	if (l->indent > 3 || l->n < 4 || s[0] != '[' || s[1] == '^')
		return false;
	c = memchr(s, ']', l->n);
	if (!c || c + 1 >= e || c[1] != ':' || c == s + 1)
		return false;
	d->label = s + 1;
	d->ln = (size_t)(c - s - 1);
	s = c + 2;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s < e && *s == '<') {
		const char *gt = memchr(s, '>', (size_t)(e - s));

		if (!gt)
			return false;
		d->url = s + 1;
		d->un = (size_t)(gt - s - 1);
		return true;
	}
	d->url = s;
	while (s < e && !isspace((unsigned char)*s))
		s++;
	d->un = (size_t)(s - d->url);
	return d->un > 0;
}

/* ---- blocks ------------------------------------------------------------------ */

/* A blank line before the next block, unless the output is empty or has one. */
static void ensure_blank(struct md *m, size_t start)
{
	size_t n = m->b.len - start;

	if (m->err || n == 0)
		return;
	if (m->b.data[m->b.len - 1] != '\n')
		md_puts(m, "\n\n");
	else if (n < 2 || m->b.data[m->b.len - 2] != '\n')
		md_puts(m, "\n");
}

/*
 * Lines [body, end) as a fenced block of ours: the fence is longer than any
 * backtick run that starts a line inside, so nothing inside closes it.
 * Up to @strip columns of indentation go; @info is already safe.
 */
static void put_code(struct md *m, const char *body, const char *end, unsigned strip,
		     const char *info, size_t max_lines)
{
	size_t longest = 2, lines = 0;
	char fence[24];
	struct line l;

	for (const char *p = body; get_line(p, end, &l); p = l.next) {
		size_t k = 0;

		while (k < l.n && l.s[k] == '`')
			k++;
		longest = MAX(longest, k);
	}
	longest = MIN(longest + 1, sizeof(fence) - 1);
	memset(fence, '`', longest);
	fence[longest] = '\0';
	md_printf(m, "%s%s\n", fence, info);
	for (const char *p = body; p < end && !m->err; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		unsigned col = 0;

		if (lines == max_lines) {
			md_puts(m, "...\n");
			break;
		}
		while (p < le && col < strip && (*p == ' ' || *p == '\t')) {
			col += *p == '\t' ? 4 - col % 4 : 1;
			p++;
		}
		md_verbatimn(m, p, (size_t)(le - p));
		md_puts(m, "\n");
		p = nl ? nl + 1 : end;
	}
	md_printf(m, "%s\n", fence);
}

/* A fence's info word, kept to characters that cannot mean anything else. */
static void fence_info(const struct line *l, size_t k, char *out, size_t cap)
{
	const char *s = l->s + k, *e = l->s + l->n;
	size_t o = 0;

	while (s < e && *s == ' ')
		s++;
	for (; s < e && o + 1 < cap && (isalnum((unsigned char)*s) || strchr("_+.-", *s)); s++)
		out[o++] = *s;
	out[o] = '\0';
}

/* The body [*body, *bend) of the fence opened by @l; returns where the text goes on. */
static const char *fence_body(const struct line *l, size_t k, char ch, const char *end,
			      const char **body, const char **bend)
{
	struct line x;
	char xc;

	*body = l->next;
	for (const char *p = l->next; get_line(p, end, &x); p = x.next) {
		size_t xk = fence_len(&x, &xc);

		if (xk >= k && xc == ch && xk == x.n) {
			*bend = x.raw;
			return x.next;
		}
	}
	*bend = end;
	return end;
}

static bool ci_contains(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i + wl <= n; i++)
		if (!strncasecmp(s + i, word, wl))
			return true;
	return false;
}

static bool usage_heading(const char *t, size_t n)
{
	static const char *const words[] = { "install", "usage", "quick",  "getting started",
					     "example", "build", "compil", "how to use",
					     "running", "setup", "start" };

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (ci_contains(t, n, words[i]))
			return true;
	return false;
}

static bool shell_info(const char *info)
{
	static const char *const names[] = { "sh",	"bash",		 "shell",
					     "console", "shell-session", "sh-session",
					     "zsh",	"fish",		 "powershell",
					     "ps1",	"cmd",		 "bat" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(info, names[i]))
			return true;
	return false;
}

/* A setext heading's text line: the next line underlines it. */
static bool setext(const struct line *l, const char *end)
{
	struct line nx;

	return !list_marker(l->s, l->n) && l->indent <= 3 && get_line(l->next, end, &nx) &&
	       (only_of(&nx, "=") || (only_of(&nx, "-") && !thematic_break(l)));
}

/*
 * The opening line of the first usage block, or NULL: a shell fence, or a
 * fence or an indented block (after a blank line, outside a list) under a
 * usage heading.
 */
static const char *find_quick_start(const char *text, const char *end)
{
	bool usage = false, after_blank = true, in_list = false;
	struct line l;
	const char *t;
	size_t tn, k;
	char ch, info[24];

	for (const char *p = text; get_line(p, end, &l);) {
		const char *body, *bend;
		bool blank = after_blank;

		p = l.next;
		after_blank = l.n == 0;
		if (l.n == 0)
			continue;
		if (heading(&l, &t, &tn) || setext(&l, end)) {
			usage = usage_heading(l.s, l.n);
			in_list = false;
			continue;
		}
		if (usage && blank && !in_list && l.indent >= 4)
			return l.raw;
		if (l.indent == 0 || list_marker(l.s, l.n))
			in_list = list_marker(l.s, l.n) > 0;
		if (!(k = fence_len(&l, &ch)))
			continue;
		fence_info(&l, k, info, sizeof(info));
		if (shell_info(info) ||
		    (usage && strcasecmp(info, "text") && strcasecmp(info, "output")))
			return l.raw;
		p = fence_body(&l, k, ch, end, &body, &bend);
	}
	return NULL;
}

struct rstate {
	size_t start; /* output offset of the section */
	bool open;    /* a paragraph, list or table is open */
	bool in_list; /* indented lines continue a list item */
	bool titled;  /* the README's title was seen */
	bool stop;    /* the section ended */
	bool html;    /* inside an HTML block: text only, up to a blank line */
	bool in_tag;  /* inside an HTML tag that spans lines */
};

static void close_block(struct md *m, struct rstate *st)
{
	if (st->open)
		md_puts(m, "\n");
	st->open = false;
}

/* A heading: demoted below "##"; the title and a table of contents dropped. */
static void put_heading(struct rctx *c, struct rstate *st, int lvl, const char *t, size_t tn)
{
	struct md *m = c->m;
	size_t out = m->b.len - st->start;
	int level = lvl + 1 < 3 ? 3 : lvl + 1 > 6 ? 6 : lvl + 1;

	close_block(m, st);
	st->in_list = false;
	if (!st->titled && out == 0) {
		st->titled = true;
		return;
	}
	if (ci_contains(t, tn, "contents"))
		return;
	if (lvl <= 3 && out >= README_MIN_BYTES) {
		st->stop = true;
		return;
	}
	ensure_blank(m, st->start);
	md_printf(m, "%.*s ", level, "######");
	readme_inline(c, t, tn, false);
	md_puts(m, "\n\n");
}

/* Does @l start a block of its own, rather than continue a paragraph? */
static bool starts_block(const struct line *l)
{
	const char *t;
	size_t tn;
	char ch;

	if (l->n == 0)
		return true;
	if (l->indent > 3)
		return false;
	return fence_len(l, &ch) || heading(l, &t, &tn) || thematic_break(l) || only_of(l, "=") ||
	       list_marker(l->s, l->n) || l->s[0] == '>' || l->s[0] == '<';
}

/*
 * Could the output line at @pos start a block where the README's line,
 * which began with @src, did not? Then escape its first character.
 */
static void neutralize(struct md *m, size_t pos, char src)
{
	const char *s = m->b.data + pos, *e = m->b.data + m->b.len;
	size_t n = pos < m->b.len ? (size_t)(e - s) : 0, at = pos, k = 0;

	while (k < n && s[k] == ' ')
		k++;
	if (k > 3 || k == n || s[k] == src)
		return;
	s += k;
	n -= k;
	at += k;
	if (strchr("#><=|`~", s[0]) ||
	    ((strchr("-*+_", s[0])) && (n == 1 || s[1] == ' ' || s[1] == s[0]))) {
		/* "\#", "\-": the character as text */
	} else {
		size_t d = 0;

		while (d < n && d < 9 && isdigit((unsigned char)s[d]))
			d++;
		if (!d || d >= n || (s[d] != '.' && s[d] != ')'))
			return;
		at += d;
	}
	md_add(m, " ", 1);
	if (m->err)
		return;
	memmove(m->b.data + at + 1, m->b.data + at, m->b.len - 1 - at);
	m->b.data[at] = '\\';
}

/*
 * A paragraph, list item, quote line or table: the line @l and the lines
 * that continue it, through one inline pass (a link may span lines). Every
 * output line that could start a block where the README's did not (text
 * left at a line's start once a tag or a badge is gone) is escaped.
 */
static const char *put_paragraph(struct rctx *c, struct rstate *st, const struct line *l,
				 const char *end)
{
	struct md *m = c->m;
	size_t k = list_marker(l->s, l->n), mark, at, first_bol;
	const char *last = l->s + l->n, *next = l->next;
	struct line x;

	if (k)
		st->in_list = true;
	else if (!st->open && l->indent == 0)
		st->in_list = false;
	while (!st->html && l->s[0] != '>' && get_line(next, end, &x) && !starts_block(&x)) {
		last = x.s + x.n;
		next = x.next;
	}
	if (k && readme_anchor_only(c, l->s + k, (size_t)(last - l->s) - k))
		return next;
	mark = m->b.len;
	if (!st->open)
		ensure_blank(m, st->start);
	md_printf(m, "%*s", st->in_list ? (int)MIN(l->indent, README_LIST_INDENT) : 0, "");
	md_verbatimn(m, l->s, k);
	at = m->b.len;
	first_bol = c->nbol;
	if (!k)
		readme_line_start(c, at, l->s[0]);
	if (st->html)
		readme_html_text(m, l->s, l->n, &st->in_tag);
	else
		readme_inline(c, l->s + k, (size_t)(last - l->s) - k, false);
	if (m->err)
		return next;
	if (readme_blank(m->b.data + at, m->b.len - at)) {
		readme_rollback(c, mark); /* only badges, tags or a comment: no line */
		c->nbol = first_bol;
		return next;
	}
	/* from the last line up, so earlier positions stay valid */
	for (size_t i = c->nbol; i-- > first_bol;)
		neutralize(m, c->bol[i].pos, c->bol[i].src);
	c->nbol = first_bol;
	md_puts(m, "\n");
	st->open = true;
	return next;
}

/* The end of the indented code block that starts at @l (its last non-blank line). */
static const char *indented_end(const struct line *l, const char *end)
{
	const char *last = l->next, *p = l->next;
	struct line x;

	while (get_line(p, end, &x) && (x.n == 0 || x.indent >= 4)) {
		p = x.next;
		if (x.n)
			last = x.next;
	}
	return last;
}

/* An indented code block starting at @l; returns where the text goes on. */
static const char *indented_code(struct rctx *c, struct rstate *st, const struct line *l,
				 const char *end)
{
	const char *last = indented_end(l, end);

	if (l->raw != c->skip) {
		ensure_blank(c->m, st->start);
		put_code(c->m, l->raw, last, 4, "", README_CODE_LINES);
	}
	return last;
}

/* One block-level line (or a whole block); returns where the text goes on. */
static const char *render_line(struct rctx *c, struct rstate *st, const struct line *l,
			       const char *end)
{
	struct md *m = c->m;
	struct line nx;
	struct rdef d;
	const char *t;
	size_t k, tn;
	int lvl;
	char ch, info[24];

	if (st->html || (!st->open && !list_marker(l->s, l->n) && l->indent <= 3 &&
			 l->s[0] == '<' && !readme_autolink(l->s, l->s + l->n))) {
		st->html = true;
		return put_paragraph(c, st, l, end);
	}
	if ((k = fence_len(l, &ch))) {
		const char *body, *bend, *next = fence_body(l, k, ch, end, &body, &bend);

		close_block(m, st);
		if (l->raw != c->skip) {
			fence_info(l, k, info, sizeof(info));
			ensure_blank(m, st->start);
			put_code(m, body, bend, l->indent, info, README_CODE_LINES);
		}
		return next;
	}
	if (l->indent >= 4 && !st->open && !st->in_list)
		return indented_code(c, st, l, end);
	if ((lvl = heading(l, &t, &tn))) {
		put_heading(c, st, lvl, t, tn);
		return l->next;
	}
	if (!st->open && setext(l, end) && get_line(l->next, end, &nx)) {
		put_heading(c, st, nx.s[0] == '=' ? 1 : 2, l->s, l->n);
		return nx.next;
	}
	if (thematic_break(l)) {
		close_block(m, st);
		return l->next;
	}
	if (only_of(l, "=") || (!st->open && parse_def(l, &d)))
		return l->next;
	return put_paragraph(c, st, l, end);
}

static void render_md(struct rctx *c, const char *text, const char *end)
{
	struct md *m = c->m;
	struct rstate st = { .start = m->b.len };
	struct line l;

	for (const char *p = text; !st.stop && !m->err && get_line(p, end, &l);) {
		if (l.n == 0) {
			close_block(m, &st);
			st.html = st.in_tag = false;
			p = l.next;
			continue;
		}
		if (!st.open && m->b.len - st.start >= README_MAX_BYTES) {
			st.stop = true;
			break;
		}
		p = render_line(c, &st, &l, end);
	}
	close_block(m, &st);
	if (st.stop && m->b.len > st.start) {
		ensure_blank(m, st.start);
		md_puts(m, "*(The README goes on in ");
		if (c->o->base && c->o->base[0] && c->o->commit) {
			md_puts(m, "[");
			md_text(m, c->o->path);
			md_printf(m, "](%s/blob/%s/", c->o->base, c->o->commit);
			md_url(m, c->o->path);
			md_puts(m, ")");
		} else {
			md_code(m, c->o->path, 0);
		}
		md_puts(m, ".)*\n");
	}
}

/* A README that is not Markdown: its first lines, up to a blank line, as text. */
static void render_text(struct md *m, const char *text, const char *end)
{
	const char *cut = end, *p = text;
	struct line l;

	for (size_t lines = 0; get_line(p, end, &l); p = l.next) {
		if (++lines > README_TEXT_LINES)
			break;
		if (l.n == 0)
			cut = l.raw;
	}
	if (p >= end || !get_line(p, end, &l))
		cut = end;
	put_code(m, text, cut, 0, "text", README_TEXT_LINES);
}

static bool is_markdown(const char *path)
{
	const char *d = path ? strrchr(path, '.') : NULL;

	return d && (!strcasecmp(d, ".md") || !strcasecmp(d, ".markdown") ||
		     !strcasecmp(d, ".mdown") || !strcasecmp(d, ".mkd"));
}

/* The README without HTML comments (an unclosed one runs to the end). */
static char *strip_comments(const char *text, size_t *len)
{
	size_t n = strlen(text), o = 0;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		if (!strncmp(text + i, "<!--", 4)) {
			const char *e = strstr(text + i + 4, "-->");

			i = e ? (size_t)(e + 3 - text) : n;
			continue;
		}
		out[o++] = text[i++];
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* Link definitions of the whole README (outside code). */
static void collect_defs(struct rctx *c, const char *text, const char *end)
{
	struct line l;
	char ch;

	for (const char *p = text; get_line(p, end, &l);) {
		size_t k = fence_len(&l, &ch);
		const char *body, *bend;

		p = k ? fence_body(&l, k, ch, end, &body, &bend) : l.next;
		if (!k && c->ndefs < README_DEFS_MAX && parse_def(&l, &c->defs[c->ndefs]))
			c->ndefs++;
	}
}

bool readme_render(struct md *m, const char *text, const struct readme_opts *o)
{
	struct rctx c = { .m = m, .o = o };
	size_t before = m->b.len, len;
	char *clean;

	if (!text || m->err)
		return false;
	if (!is_markdown(o->path)) {
		render_text(m, text, text + strlen(text));
		return m->b.len > before;
	}
	clean = strip_comments(text, &len);
	c.defs = calloc(README_DEFS_MAX, sizeof(*c.defs));
	if (!clean || !c.defs) {
		m->err = -ENOMEM;
		goto out_free;
	}
	collect_defs(&c, clean, clean + len);
	c.skip = find_quick_start(clean, clean + len);
	render_md(&c, clean, clean + len);
out_free:
	free(c.bol);
	free(c.defs);
	free(clean);
	return m->b.len > before;
}

bool readme_quick_start(struct md *m, const char *text, const struct readme_opts *o)
{
	const char *end, *open, *body, *bend;
	struct line l;
	char ch, info[24], *clean;
	size_t k, len;
	bool found = false;

	if (!text || m->err || !is_markdown(o->path))
		return false;
	clean = strip_comments(text, &len);
	if (!clean) {
		m->err = -ENOMEM;
		return false;
	}
	end = clean + len;
	open = find_quick_start(clean, end);
	if (open && get_line(open, end, &l) && l.indent >= 4) {
		const char *last = indented_end(&l, end);

		put_code(m, l.raw, last, 4, "", README_CODE_LINES);
		found = true;
	} else if (open && get_line(open, end, &l) && (k = fence_len(&l, &ch))) {
		fence_body(&l, k, ch, end, &body, &bend);
		fence_info(&l, k, info, sizeof(info));
		if (body < bend) {
			put_code(m, body, bend, l.indent, info, README_CODE_LINES);
			found = true;
		}
	}
	free(clean);
	return found;
}
