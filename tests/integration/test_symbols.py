#!/usr/bin/env python3
"""Issue 12 items 2, 3 and 8 on a real mount: a module page explains before it
lists (a doc-commented function with its one-line description, public symbols
before static ones, tests apart), symbols come from Universal Ctags (a
JavaScript `app.get = function`, a C prototype behind an export macro), and
the facts of the commit are kept on disk in the cache directory."""
import glob
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

FILES = {
    "README.md": "# Widgets\n\nA widget library.\n",
    "core/widget.h": "#ifndef WIDGET_H\n#define WIDGET_H\n\n/** Opens a widget by name. */\n"
                     "WIDGET_API(int) widget_open(const char *name);\n\n#endif\n",
    "core/widget.c": "#include \"widget.h\"\n\n/* Checks a name. */\n"
                     "static int check(const char *name)\n{\n\treturn name != 0;\n}\n\n"
                     "/**\n * Opens a widget by name.\n *\n * @name: its name\n */\n"
                     "int widget_open(const char *name)\n{\n\treturn check(name);\n}\n",
    "core/tests/test_widget.c": "int main(void)\n{\n\treturn 0;\n}\n",
    "web/app.js": "var app = exports = module.exports = {};\n\n/**\n * Get a setting.\n */\n"
                  "app.get = function get(setting) {\n  return 1;\n};\n",
}

with Env() as env:
    repo = env.make_repo("widgets", FILES)
    m = env.mount({"acme/widgets": repo}, options={"refresh_interval": 0})
    names, err = listdir_errno(m.path("acme", "widgets"))
    t.ok(err == 0 and "Module-core.md" in names, "a page for module core", names)
    core, err = read_errno(m.path("acme", "widgets", "Module-core.md"))
    core = core.decode()
    t.eq(err, 0, "Module-core.md read")
    t.ok("function `widget_open`" in core and "Opens a widget by name." in core,
         "the doc-commented function is listed with its description", core)
    t.ok("prototype `widget_open`" in core, "the prototype behind WIDGET_API(int) is found", core)
    t.ok("WIDGET_H" not in core, "the include guard is not a symbol", core)
    pub, static = core.find("function `widget_open`"), core.find("function `check`")
    t.ok(0 <= pub < static, "the public function comes before the static one", core)
    t.ok("(internal): Checks a name." in core, "the static one is marked internal", core)
    tests_at = core.find("## Tests")
    t.ok(tests_at > static and "core/tests/test_widget.c" in core[tests_at:],
         "tests are listed last, apart", core)
    web, err = read_errno(m.path("acme", "widgets", "Module-web.md"))
    web = web.decode()
    t.ok("function `app.get`" in web and "Get a setting." in web,
         "app.get = function found with its JSDoc summary", web)
    facts = glob.glob(os.path.join(env.cache, "facts", "*.facts"))
    t.eq(len(facts), 1, "the commit's facts are kept on disk", facts)
    arch, err = read_errno(m.path("acme", "widgets", "Architecture.md"))
    arch = arch.decode()
    t.ok("## Entry points" in arch and "test_widget.c" not in arch.split("## Entry points")[1],
         "a test's main is not an entry point", arch)
t.done()
