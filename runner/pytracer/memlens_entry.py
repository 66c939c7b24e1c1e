"""How memlens's tracer runs a Python function that its file does not call:
through the tests that reach it (a helper of memlens_tracer.py, loaded only
for that).

The order, for a file and the functions named in it (memlens_tracer.main):

1. Explicit tests (memlens profile --test, the `entries` setting) run as
   given; explicit program arguments run the file as a script.
2. When running the file reaches one of the functions, the file runs as a
   script. This is decided statically (reached_by_running): what the file's
   top-level code (module statements, the `if __name__ == "__main__":`
   block, decorators, class bodies) calls or hands to a call and,
   transitively, what the functions of the file it so reaches call, by
   name; a mere reference (Class.method = func) is no call. A file with a
   relative import never runs as a script. Nothing runs twice to find out.
3. Otherwise the tests that reach them run under the tracer: pytest from
   the project root (project_root), keeping the tests that mention the
   function or a function of its file that calls it (names_to_find), by
   AST: in the test's own code, its decorators, the fixtures it uses or its
   TestCase's set-up; or every test of a test module that mentions it
   elsewhere (at module level, in a helper). Test modules that do not
   mention it at all are not even imported. Without pytest, unittest
   discovery (test*.py in packages under the root) with the same choice.
4. When no test reaches them, a function without parameters is called
   after running the file (memlens_tracer._call_directly); others are
   reported as never ran, with the reason.

Collection and the run are one pytest session: memlens's plugin
(PytestPlugin) deselects the other tests at collection time, which is what
`python -m pytest --collect-only -q` followed by a run of the chosen node
ids would do, without collecting twice or starting another interpreter.
pytest's cache goes to memlens's temporary directory, not the project.
"""

import _ast
import os
import sys

import _memlens_tracer as _tracer

walk = _tracer.walk  # ast.walk, without importing ast (start-up is part of every run)

CONFIG_FILES = ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini")

# Directories no test search descends into (pytest's norecursedirs default,
# and virtual environments).
_SKIP_DIRS = frozenset(("build", "dist", "node_modules", "venv", "CVS", "_darcs", "{arch}", "site-packages",
                        "__pycache__"))
_TEST_PATTERNS = ("test_*.py", "*_test.py")  # pytest's python_files default


def project_root(path):
    """The directory tests of path run from: the nearest one above it with
    a pyproject.toml, setup.cfg, pytest.ini or tox.ini (not beyond the root
    of a version-controlled tree), else the parent of path's top package
    (path's own directory when it is in no package)."""
    start = os.path.dirname(os.path.abspath(path))
    d = start
    while True:
        if any(os.path.isfile(os.path.join(d, f)) for f in CONFIG_FILES):
            return d
        if os.path.exists(os.path.join(d, ".git")) or os.path.exists(os.path.join(d, ".hg")):
            break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    top = start
    while os.path.isfile(os.path.join(top, "__init__.py")):
        top = os.path.dirname(top)
    return top


# --- names, by AST ------------------------------------------------------------

def names_in(node):
    """Every name node mentions: names, attributes, imported names, and the
    last part of string constants that look like (dotted) names, as in
    mock.patch("pkg.mod.func") or getattr(m, "func")."""
    out = set()
    for n in walk(node):
        if isinstance(n, _ast.Name):
            out.add(n.id)
        elif isinstance(n, _ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, _ast.alias):
            out.add((n.asname or n.name).split(".")[-1])
            out.add(n.name.split(".")[-1])
        elif isinstance(n, _ast.Constant) and isinstance(n.value, str) and len(n.value) < 200:
            last = n.value.rsplit(".", 1)[-1]
            if last.isidentifier():
                out.add(last)
    return out


def called_in(node):
    """The names node calls (f(), obj.f()) or hands to a call (map(f, xs),
    Thread(target=obj.f)): what may run when node runs."""
    out = set()
    for n in walk(node):
        if isinstance(n, _ast.Call):
            for part in [n.func] + n.args + [k.value for k in n.keywords]:
                if isinstance(part, _ast.Starred):
                    part = part.value
                if isinstance(part, _ast.Name):
                    out.add(part.id)
                elif isinstance(part, _ast.Attribute):
                    out.add(part.attr)
    return out


def _top_level_calls(body, out):
    """What the code that runs when a module (or class body) executes calls:
    not function bodies, but their decorators and defaults."""
    for stmt in body:
        if isinstance(stmt, _tracer._DEFS):
            for part in stmt.decorator_list + stmt.args.defaults + [d for d in stmt.args.kw_defaults if d is not None]:
                out |= called_in(part)
        elif isinstance(stmt, _ast.ClassDef):
            for part in stmt.decorator_list + stmt.bases + [k.value for k in stmt.keywords]:
                out |= called_in(part)
            _top_level_calls(stmt.body, out)
        else:
            out |= called_in(stmt)
    return out


def _relative_import(body):
    """Whether the module's top level imports relatively: then it runs only
    as part of its package (import, -m), never as a script."""
    for stmt in body:
        for n in walk(stmt):
            if isinstance(n, _ast.ImportFrom) and n.level:
                return True
    return False


class Module(object):
    """One parsed file: its functions and what each mentions."""

    def __init__(self, path):
        self.path = path
        self.tree = _tracer._parse(path)
        self.defs = []  # (qualname, simple name, class name or "", node)
        self.body_names = {}  # qualname -> names its body mentions
        self.body_calls = {}  # qualname -> names its body calls or hands to calls
        if self.tree is None:
            return
        for q, node in _tracer._walk_defs(self.tree):
            parts = q.split(".")
            cls = parts[-2] if len(parts) > 1 and parts[-2] != "<locals>" else ""
            self.defs.append((q, node.name, cls, node))
            self.body_names[q] = names_in(node)
            self.body_calls[q] = called_in(node)

    def reached_by_running(self, qualnames):
        """Whether running the file as a script reaches one of qualnames:
        whether its top-level code calls one (or hands it to a call),
        directly or through the file's functions it calls, by name. A file
        that imports relatively cannot run as a script at all."""
        if self.tree is None or not any(q == d[0] for q in qualnames for d in self.defs):
            return True  # unknown, or defined elsewhere: running it is the only way to find out
        if _relative_import(self.tree.body):
            return False
        names = _top_level_calls(self.tree.body, set())
        reached = set()
        grew = True
        while grew:
            grew = False
            for q, simple, cls, _ in self.defs:
                if q not in reached and _named(simple, cls, names):
                    reached.add(q)
                    names |= self.body_calls[q]
                    grew = True
        return any(q in reached for q in qualnames)

    def names_to_find(self, qualnames):
        """The names a test that reaches qualnames mentions: theirs, and
        those of the file's functions that call them, transitively. A
        calling method named like a method of the builtin types (append,
        get, __init__) counts by its class's name instead: its own name is
        in every other test."""
        want = set()
        for q in qualnames:
            parts = q.split(".")
            want.add(parts[-1])
            if parts[-1].startswith("__") and len(parts) > 1:
                want.add(parts[-2])  # Box.__init__ runs when Box(...) is called
        grew = True
        while grew:
            grew = False
            for q, simple, cls, _ in self.defs:
                if q in qualnames or not self.body_names[q] & want:
                    continue
                name = simple
                if cls and (simple in _COMMON_NAMES or simple.startswith("__")):
                    name = cls
                if name not in want:
                    want.add(name)
                    grew = True
        return want


_COMMON_NAMES = frozenset(n for t in (object, list, dict, set, str, bytes, int, float) for n in dir(t))


def _named(simple, cls, names):
    if simple in names:
        return True
    # A class's special methods run when the class is used.
    return bool(cls) and simple.startswith("__") and simple.endswith("__") and cls in names


_mentions = {}  # path -> bool


class Selection(object):
    """Which tests reach the target functions."""

    def __init__(self, target, qualnames, names):
        self.target = os.path.realpath(target)
        self.qualnames = frozenset(qualnames)
        self.names = frozenset(names)
        self._code_mentions = {}

    def file_mentions(self, path):
        """Whether the file at path mentions one of the names anywhere."""
        path = os.path.realpath(path)
        if path == self.target:
            return True  # the functions' own file (a test module, when a test is the target)
        hit = _mentions.get(path)
        if hit is None:
            hit = False
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            if any(n in text for n in self.names):  # most files fail this cheap test
                tree = _tracer._parse(path)
                hit = tree is None or bool(names_in(tree) & self.names)
            _mentions[path] = hit
        return hit

    def code_mentions(self, func):
        """Whether the def of func (its decorators included) mentions one of the names."""
        code = _code_of(func)
        if code is None:
            return False
        hit = self._code_mentions.get(code)
        if hit is None:
            _, node = _tracer._find_def(code)
            hit = node is not None and bool(names_in(node) & self.names)
            self._code_mentions[code] = hit
        return hit

    def is_target(self, func):
        code = _code_of(func)
        if code is None or os.path.realpath(code.co_filename) != self.target:
            return False
        q = getattr(code, "co_qualname", None) or _tracer._find_def(code)[0]
        return q in self.qualnames

    def any_test_file_mentions(self, root):
        """Whether a file under root that may hold tests or fixtures
        (a .py file with "test" in its name, or conftest.py) mentions one of
        the names: when none does, no test runner need start."""
        for path in _py_files(root):
            base = os.path.basename(path)
            if ("test" in base or base == "conftest.py") and self.file_mentions(path):
                return True
        return False

    def choose(self, tests):
        """Keeps the tests that reach the targets; tests are (test, module
        file, [functions whose code decides]) in run order."""
        chosen = []
        by_module = {}
        for t, path, funcs in tests:
            by_module.setdefault(path, []).append(t)
            if any(self.is_target(f) or self.code_mentions(f) for f in funcs):
                chosen.append(t)
        hit = set(id(t) for t in chosen)
        # A module that mentions the function where no single test does (at
        # module level, in a helper, in a parametrization): all its tests.
        for path, ts in by_module.items():
            if path and not any(id(t) in hit for t in ts) and self.file_mentions(path):
                hit.update(id(t) for t in ts)
        return [t for t, _, _ in tests if id(t) in hit]


def _code_of(func):
    try:
        import inspect
        func = inspect.unwrap(func)
    except Exception:
        pass
    func = getattr(func, "__func__", func)
    return getattr(func, "__code__", None)


def _py_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not _skip_dir(os.path.join(d, x), x)]
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(d, f)


def _skip_dir(path, name):
    """Directories no test search enters: hidden ones, build output,
    virtual environments, and other projects nested in this one."""
    return (name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info")
            or os.path.isfile(os.path.join(path, "pyvenv.cfg"))
            or any(os.path.isfile(os.path.join(path, f)) for f in CONFIG_FILES))


# --- pytest -------------------------------------------------------------------

def have_pytest():
    try:
        import importlib.util
        return importlib.util.find_spec("pytest") is not None
    except (ImportError, ValueError):
        return False


class PytestPlugin(object):
    """Chooses the tests (unless they were given) and records what ran."""

    def __init__(self, selection, root, meta):
        self.selection = selection  # None: the tests were given, run them all
        self.root = root
        self.meta = meta
        self.patterns = _TEST_PATTERNS

    def pytest_configure(self, config):
        try:
            self.patterns = tuple(config.getini("python_files")) or _TEST_PATTERNS
        except Exception:
            pass

    def _ignore(self, path):
        if os.path.isdir(path):
            # Another project nested in this one has its own tests and set-up.
            if os.path.realpath(path) != os.path.realpath(self.root) and _skip_dir(path, os.path.basename(path)):
                return True
            return None
        if self.selection is None:
            return None
        import fnmatch  # here, not at start-up: it imports re (about 5 ms)

        base = os.path.basename(path)
        if path.endswith(".py") and any(fnmatch.fnmatch(base, p) for p in self.patterns):
            sel = self.selection
            if not sel.file_mentions(path) and os.path.realpath(path) != sel.target and not self._conftest_mentions(path):
                return True  # a test module that cannot reach the function: not even imported
        return None

    def _conftest_mentions(self, path):
        """Whether a conftest.py above path (up to the root) mentions the
        function: its fixtures may reach it for tests that never name it."""
        root = os.path.realpath(self.root)
        d = os.path.dirname(os.path.realpath(path))
        while True:
            c = os.path.join(d, "conftest.py")
            if os.path.isfile(c) and self.selection.file_mentions(c):
                return True
            if d == root or os.path.dirname(d) == d:
                return False
            d = os.path.dirname(d)

    def pytest_collection_modifyitems(self, session, config, items):
        if self.selection is not None:
            tests = []
            for item in items:
                tests.append((item, _item_path(item), _deciding_functions(item)))
            keep = self.selection.choose(tests)
            kept = set(id(i) for i in keep)
            dropped = [i for i in items if id(i) not in kept]
            items[:] = keep
            if dropped:
                config.hook.pytest_deselected(items=dropped)

    def pytest_collection_finish(self, session):
        # After every plugin's choice (-k, marks): what will run.
        self.meta["tests"] = [i.nodeid for i in session.items]

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self._failure(report.nodeid, report.longrepr, report.when)

    def pytest_collectreport(self, report):
        if report.failed:
            self._failure(report.nodeid or "collection", report.longrepr, "collect")

    def _failure(self, nodeid, longrepr, when):
        f = {"test": nodeid, "when": when}
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            f.update(file=str(crash.path), line=crash.lineno, message=crash.message.split("\n")[0])
        else:
            f["message"] = str(longrepr).strip().split("\n")[-1][:300]
        self.meta.setdefault("test_failures", []).append(f)


def _pytest_ignore_hook(plugin, pytest_major):
    """pytest_ignore_collect with the argument names this pytest passes
    (pluggy refuses a hook implementation with names the spec lacks)."""
    if pytest_major >= 7:
        def pytest_ignore_collect(collection_path, config):
            return plugin._ignore(str(collection_path))
    else:
        def pytest_ignore_collect(path, config):
            return plugin._ignore(str(path))
    return pytest_ignore_collect


def _item_path(item):
    p = getattr(item, "path", None) or getattr(item, "fspath", None)
    return str(p) if p is not None else ""


def _deciding_functions(item):
    """The functions whose code decides whether a test reaches the target:
    the test itself, the fixtures it uses, its TestCase's set-up."""
    out = []
    fn = getattr(item, "function", None) or getattr(item, "obj", None)
    if fn is not None:
        out.append(fn)
    try:
        for defs in item._fixtureinfo.name2fixturedefs.values():
            for fd in defs:
                out.append(fd.func)
    except AttributeError:
        pass
    cls = getattr(item, "cls", None)
    if cls is not None:
        out.extend(_setup_methods(cls))
    return out


def _setup_methods(cls):
    out = []
    for name in ("setUp", "setUpClass", "asyncSetUp", "setup_method", "setup_class", "setup"):
        for k in cls.__mro__:
            if name in k.__dict__:
                out.append(k.__dict__[name])
                break
    return out


def run_pytest(root, selection, given, cache_dir, meta):
    """Runs pytest in this process from root: the given test arguments
    (node ids or a -k expression), or the tests selection chooses.
    Returns pytest's exit code, or None when selection chose no test."""
    import pytest

    # A test module that cannot be imported (a missing optional dependency)
    # is reported, and does not stop the others.
    args = ["-q", "-o", "cache_dir=" + cache_dir, "--continue-on-collection-errors"]
    # Tests must run in this process, and under this tracer only.
    import importlib.util
    if importlib.util.find_spec("xdist") is not None:
        args += ["-n", "0"]
    if importlib.util.find_spec("pytest_cov") is not None:
        args.append("--no-cov")
    args += given
    plugin = PytestPlugin(selection, root, meta)
    try:
        major = int(pytest.__version__.split(".")[0])
    except ValueError:
        major = 7
    plugin.pytest_ignore_collect = _pytest_ignore_hook(plugin, major)
    code = int(pytest.main(args, plugins=[plugin]))
    if selection is not None and not meta.get("tests") and code == 5:  # no tests collected
        return None
    return code


def pytest_entry(meta, given):
    ids = meta.get("tests") or []
    if not ids:
        return "pytest " + " ".join(given)
    shown = " ".join(ids[:4])
    if len(ids) > 4:
        shown += " … (%d tests)" % len(ids)
    return "pytest " + shown


# --- unittest -----------------------------------------------------------------

def run_unittest(root, selection, meta):
    """unittest discovery from root (test*.py in packages, as `python -m
    unittest discover` finds them), the test modules that mention the
    function only, then the tests selection chooses. Returns 0 or 1, or
    None when no test was chosen."""
    import unittest

    loader = unittest.TestLoader()
    if root not in sys.path:
        sys.path.insert(0, root)
    tests = []
    for path in _unittest_files(root):
        if not selection.file_mentions(path):
            continue
        name = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
        for t in _flatten(loader.loadTestsFromName(name)):
            method = getattr(t, getattr(t, "_testMethodName", ""), None)
            funcs = [method] if method is not None else []
            funcs.extend(_setup_methods(type(t)))
            tests.append((t, path, funcs))
    chosen = selection.choose(tests)
    meta["tests"] = [t.id() for t in chosen]
    if not chosen:
        return None
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(unittest.TestSuite(chosen))
    for t, text in result.failures + result.errors:
        meta.setdefault("test_failures", []).append(
            {"test": t.id(), "when": "call", "message": text.strip().split("\n")[-1][:300]})
    return 0 if result.wasSuccessful() else 1


def _unittest_files(root):
    """test*.py files in root and the packages below it."""
    import fnmatch

    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not _skip_dir(os.path.join(d, x), x)
                   and os.path.isfile(os.path.join(d, x, "__init__.py"))]
        for f in sorted(files):
            if fnmatch.fnmatch(f, "test*.py"):
                yield os.path.join(d, f)


def _flatten(suite):
    import unittest
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            for u in _flatten(t):
                yield u
        else:
            yield t


def unittest_entry(meta):
    ids = meta.get("tests") or []
    shown = " ".join(ids[:4])
    if len(ids) > 4:
        shown += " … (%d tests)" % len(ids)
    return "python -m unittest " + shown
