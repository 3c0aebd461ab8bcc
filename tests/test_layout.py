"""The library's arrows run one way: read from its source with ast, every import, at the top of
a module or inside a function alike."""
import ast
import os

from helpers import REPO

LIBRARY = os.path.join(REPO, "vae")


def module_name(path):
    relative = os.path.relpath(path, REPO)[:-len(".py")].replace(os.sep, ".")
    return relative.removesuffix(".__init__")


def library_imports():
    """{module: set of vae modules it imports}."""
    graph = {}
    for root, _, files in os.walk(LIBRARY):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            module = module_name(path)
            package = module if name == "__init__.py" else module.rpartition(".")[0]
            found = set()
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = absolute(package, node.module, node.level)
                    found.add(base)
                    found.update(f"{base}.{a.name}" for a in node.names)
            graph[module] = {m for m in found if m.startswith("vae")}
    return graph


def absolute(package, module, level):
    """The absolute name of `from <level dots><module> import ...` inside package."""
    if level == 0:
        return module
    parts = package.split(".")
    base = ".".join(parts[:len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def resolve(graph, name):
    """A name an import statement gave (module or module.attribute) as a module, or None."""
    while name and name not in graph:
        name = name.rpartition(".")[0]
    return name or None


def test_no_library_module_imports_the_command_line_module():
    graph = library_imports()
    offenders = {m for m, imports in graph.items()
                 if m != "vae.cli" and "vae.cli" in {resolve(graph, i) for i in imports}}
    assert not offenders


def module_edges(graph):
    """{module: the library modules it imports}, the package `vae` itself left out."""
    return {m: {resolve(graph, i) for i in imports} - {None, m, "vae"}
            for m, imports in graph.items()}


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan's algorithm): every
    set of modules that import each other, directly or round a loop of any length."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_loops_of_any_length_and_relative_imports():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert absolute("vae.train", "lock", 1) == "vae.train.lock"
    assert absolute("vae.train", None, 2) == "vae"
    assert absolute("vae.train", "media", 2) == "vae.media"


def test_no_import_cycle_in_the_library():
    """No loop of any length among the library's modules, imports inside functions and
    relative imports included."""
    assert cycles(module_edges(library_imports())) == []


def test_the_argument_types_and_flags_import_nothing_of_the_library():
    graph = library_imports()
    assert graph["vae.argtypes"] == set()
    assert graph["vae.flags"] == set()


SCRIPTS = ("extract_frames", "validate_records", "train_vae", "train_refiner", "train_painter",
           "export_graph", "evaluate_embeddings", "process_video")


def test_the_scripts_help_loads_no_tensorflow():
    """The options every script's --help reads are plain Python: it answers at once."""
    import subprocess
    import sys

    code = ("import sys, contextlib, io\n"
            f"for script in {SCRIPTS!r}:\n"
            "    module = __import__(script)\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            module.main(['--help'])\n"
            "        except SystemExit:\n"
            "            pass\n"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_scripts_are_flags_one_library_call_and_the_exit_code():
    """Every script's own code is short: what it does lives in the library."""
    for script in SCRIPTS:
        tree = ast.parse(open(os.path.join(REPO, f"{script}.py")).read())
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        lines = sum(n.end_lineno - n.lineno + 1 for n in functions)
        assert lines <= 45, script
