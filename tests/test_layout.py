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
            found = set()
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
                    found.update(f"{node.module}.{a.name}" for a in node.names)
            graph[module] = {m for m in found if m.startswith("vae")}
    return graph


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


def test_no_two_library_modules_import_each_other():
    graph = library_imports()
    edges = {(m, resolve(graph, i)) for m, imports in graph.items() for i in imports}
    edges = {(a, b) for a, b in edges if b and a != b and b != "vae"}
    cycles = sorted({tuple(sorted(pair)) for pair in edges if pair[::-1] in edges})
    assert not cycles


def test_the_argument_types_and_flags_import_nothing_of_the_library():
    graph = library_imports()
    assert graph["vae.argtypes"] == set()
    assert graph["vae.flags"] == set()


def test_the_scripts_help_loads_no_tensorflow():
    """The options the scripts' --help reads are plain Python: it answers at once."""
    import subprocess
    import sys

    code = ("import sys, train_vae, train_refiner, train_painter, process_video;"
            "train_painter.parse_args([]); train_refiner.parse_args([]);"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
