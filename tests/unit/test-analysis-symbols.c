/* SPDX-License-Identifier: MIT */
/*
 * analysis/symbols: each language's scanner on plain strings. A scan is
 * rendered as one line per finding ("3 function main", "1 import c net.h")
 * and compared whole, so a missing, extra or misplaced finding fails.
 */
#include "buf.h"
#include "symbols.h"
#include "tap.h"
#include "util.h"

static const char *const kind_names[] = {
	[IMPORT_C_INCLUDE] = "c", [IMPORT_PYTHON] = "py",      [IMPORT_PYTHON_FROM] = "pyfrom",
	[IMPORT_GO] = "go",	  [IMPORT_RUST_MOD] = "rsmod", [IMPORT_RUST_USE] = "rsuse",
	[IMPORT_JS] = "js",	  [IMPORT_JAVA] = "java",
};

static void on_symbol(void *ctx, unsigned line, const char *kind, const char *name, size_t len)
{
	buf_printf(ctx, "%u %s %.*s\n", line, kind, (int)len, name);
}

static void on_import(void *ctx, unsigned line, enum import_kind kind, const char *spec, size_t len)
{
	buf_printf(ctx, "%u import %s %.*s\n", line, kind_names[kind], (int)len, spec);
}

static struct buf out;

/* The findings of @text in @lang as text; valid until the next call. */
static const char *scan(const char *lang, const char *path, const char *text)
{
	const struct symbols_sink sink = { &out, on_symbol, on_import };

	buf_reset(&out);
	if (symbols_scan(lang, path, text, strlen(text), &sink) < 0)
		return "(failed)";
	return buf_str(&out);
}

static void test_c(void)
{
	is_str(scan("C", "a.c",
		    "#include \"core.h\"\n"
		    "#include <stdio.h>\n"
		    "#define MAX 10\n"
		    "struct state {\n"
		    "\tint x; /* { */\n"
		    "};\n"
		    "static int helper(int a,\n"
		    "\t\t  int b)\n"
		    "{\n"
		    "\tconst char *s = \"}\";\n"
		    "\treturn a + b;\n"
		    "}\n"
		    "int api(void);\n"
		    "typedef struct {\n"
		    "\tint y;\n"
		    "} point_t;\n"
		    "typedef int (*cb_t)(void *);\n"),
	       "1 import c core.h\n"
	       "3 macro MAX\n"
	       "4 struct state\n"
	       "7 function helper\n"
	       "16 typedef point_t\n"
	       "17 typedef cb_t\n",
	       "C: includes, macros, structs, functions, typedefs; braces in comments and "
	       "strings ignored");
	is_str(scan("C", "a.h", "int api(void);\nvoid *make(size_t n);\n"),
	       "1 prototype api\n2 prototype make\n", "C header: prototypes count");
	is_str(scan("C", "a.c", "int api(void);\n"), "", "C source: prototypes do not count");
	is_str(scan("C++", "a.cc",
		    "namespace net {\n"
		    "class Conn : public Base {\n"
		    "};\n"
		    "int Conn::open()\n"
		    "{\n"
		    "}\n"
		    "}\n"
		    "namespace {\n"
		    "void hidden_api(void)\n"
		    "{\n"
		    "}\n"
		    "}\n"
		    "template <typename T>\n"
		    "T max(T a, T b) { return a; }\n"),
	       "2 class Conn\n4 function Conn::open\n9 function hidden_api\n14 function max\n",
	       "C++: namespace braces do not nest declarations");
	is_str(scan("C", "a.c", "/* int hidden(void)\n{\n} */\nint shown(void)\n{\n}\n"),
	       "4 function shown\n", "C: block comments across lines");
	is_str(scan("C", "a.c", "#define LONG \\\n\tfoo(x) \\\n\tbar\nint after(void)\n{\n}\n"),
	       "1 macro LONG\n4 function after\n", "C: continued preprocessor lines");
	/*
	 * Regression: an empty continuation line (only a comment) read past the
	 * cleaned line into the previous line's bytes, and took "include" there
	 * for the directive of this line.
	 */
	is_str(scan("C", "a.c", "#xinclude x \\\n/* \"foo.h\" */\n"), "",
	       "C: an empty continuation reads nothing of the line before");
}

static void test_java(void)
{
	is_str(scan("Java", "App.java",
		    "package com.acme;\n"
		    "import com.acme.util.Helper;\n"
		    "import static com.acme.util.Helper.go;\n"
		    "@Deprecated(since = \"1\")\n"
		    "public final class App {\n"
		    "    public static void main(String[] args) {\n"
		    "        Helper.go();\n"
		    "    }\n"
		    "    private int count() {\n"
		    "        return 0;\n"
		    "    }\n"
		    "    enum Mode { A, B }\n"
		    "}\n"
		    "interface Marker {}\n"),
	       "2 import java com.acme.util.Helper\n"
	       "3 import java com.acme.util.Helper.go\n"
	       "5 class App\n"
	       "6 method App.main\n"
	       "9 method App.count\n"
	       "12 enum Mode\n"
	       "14 interface Marker\n",
	       "Java: imports, types, methods named after their class");
}

static void test_python(void)
{
	is_str(scan("Python", "a.py",
		    "import os, pkg.sub\n"
		    "from . import sibling\n"
		    "from .mod import (a, b)\n"
		    "class App:\n"
		    "    def run(self):\n"
		    "        import inner\n"
		    "async def main():\n"
		    "    '''\n"
		    "def hidden():\n"
		    "    '''\n"
		    "def after():\n"
		    "    pass\n"),
	       "1 import py os\n"
	       "1 import py pkg.sub\n"
	       "2 import pyfrom .sibling\n"
	       "3 import pyfrom .mod.a\n"
	       "3 import pyfrom .mod.b\n"
	       "4 class App\n"
	       "6 import py inner\n"
	       "7 def main\n"
	       "11 def after\n",
	       "Python: top-level definitions only, nothing in a docstring, every import");
}

static void test_go(void)
{
	is_str(scan("Go", "s.go",
		    "package s\n"
		    "import (\n"
		    "\t\"fmt\"\n"
		    "\tx \"example.com/demo/pkg\"\n"
		    ")\n"
		    "import \"os\"\n"
		    "type Server struct {\n"
		    "}\n"
		    "type (\n"
		    "\tID int\n"
		    "\tName string\n"
		    ")\n"
		    "type Doer interface{}\n"
		    "func (s *Server) Start() error {\n"
		    "func (m Map) Get(k K) V {\n"
		    "func NewServer() *Server {\n"
		    "\tfunc inner() {}\n"),
	       "3 import go fmt\n"
	       "4 import go example.com/demo/pkg\n"
	       "6 import go os\n"
	       "7 struct Server\n"
	       "10 type ID\n"
	       "11 type Name\n"
	       "13 interface Doer\n"
	       "14 method Server.Start\n"
	       "15 method Map.Get\n"
	       "16 func NewServer\n",
	       "Go: import and type blocks, methods with their receivers");
}

static void test_rust(void)
{
	is_str(scan("Rust", "lib.rs",
		    "mod parser;\n"
		    "pub mod inline {\n"
		    "}\n"
		    "use crate::parser::Parser;\n"
		    "use std::io;\n"
		    "pub(crate) struct Config {\n"
		    "pub async unsafe fn run() {}\n"
		    "extern \"C\" fn cb() {}\n"
		    "impl<T: Clone> Display for Wrap<T> {\n"
		    "macro_rules! my_macro {\n"
		    "    fn nested() {}\n"),
	       "1 mod parser\n"
	       "1 import rsmod parser\n"
	       "2 mod inline\n"
	       "4 import rsuse parser::Parser\n"
	       "6 struct Config\n"
	       "7 fn run\n"
	       "8 fn cb\n"
	       "9 impl Display for Wrap<T>\n"
	       "10 macro my_macro\n",
	       "Rust: items, mod declarations as imports, crate paths, impls");
}

static void test_js(void)
{
	is_str(scan("JavaScript", "index.js",
		    "import { x } from './lib/util.js';\n"
		    "import React from 'react';\n"
		    "import './side-effect';\n"
		    "const y = require('./lib/y');\n"
		    "export default async function* gen() {}\n"
		    "export class Widget {}\n"
		    "export const answer = 42;\n"
		    "const local = 1;\n"
		    "  function indented() {}\n"),
	       "1 import js ./lib/util.js\n"
	       "3 import js ./side-effect\n"
	       "4 import js ./lib/y\n"
	       "5 function gen\n"
	       "6 class Widget\n"
	       "7 const answer\n",
	       "JavaScript: relative imports only, top-level declarations");
	is_str(scan("TypeScript", "t.ts",
		    "export interface Opts {}\n"
		    "export type Id = string;\n"
		    "declare enum Color { Red }\n"
		    "export abstract class Base {}\n"),
	       "1 interface Opts\n2 type Id\n3 enum Color\n4 class Base\n",
	       "TypeScript: interfaces, type aliases, enums, abstract classes");
}

static void test_shell(void)
{
	is_str(scan("Shell", "b.sh",
		    "#!/bin/sh\nbuild() {\n\techo hi\n}\nfunction clean-all {\n}\n"
		    "  nested() {\n"),
	       "2 function build\n5 function clean-all\n", "Shell: both function forms");
}

static void test_bounds(void)
{
	char *big = malloc(3 * SYMBOLS_LINE_MAX);
	char name[SYMBOLS_NAME_MAX + 100];
	char text[SYMBOLS_NAME_MAX + 200], want[SYMBOLS_NAME_MAX + 64];

	if (!big)
		return;
	/* a line over SYMBOLS_LINE_MAX is skipped, and the lines after it still count */
	memset(big, 'x', 2 * SYMBOLS_LINE_MAX);
	memcpy(big, "def long_one(", 13);
	strcpy(big + 2 * SYMBOLS_LINE_MAX, "\r\ndef short(): pass\r\n");
	is_str(scan("Python", "a.py", big), "2 def short\n", "long line skipped, CRLF lines");
	free(big);

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text), "def %s(): pass\n", name);
	snprintf(want, sizeof(want), "1 def %.*s\n", SYMBOLS_NAME_MAX, name);
	is_str(scan("Python", "a.py", text), want, "names cut to SYMBOLS_NAME_MAX");

	is_str(scan("Markdown", "a.md", "# def x():\n"), "", "no scanner: no findings");
	is_str(scan(NULL, "a", "def x():\n"), "", "no language: no findings");
	ok(symbols_lang_scanned("C++") && symbols_lang_scanned("TypeScript") &&
	       !symbols_lang_scanned("Markdown") && !symbols_lang_scanned(NULL),
	   "symbols_lang_scanned");
	is_str(scan("C", "a.c", ""), "", "empty text");
	is_str(scan("Go", "a.go", "import (\n  "), "", "text ending inside an import block");
}

int main(void)
{
	buf_init(&out, 1 << 20);
	test_c();
	test_java();
	test_python();
	test_go();
	test_rust();
	test_js();
	test_shell();
	test_bounds();
	buf_done(&out);
	return done_testing();
}
