"""What the tools and tests share that the question scripts do not need (utils.py ships in the
submission; this does not): the project folder on sys.path, importing a script by its path,
reading a record."""
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def load_script(path):
    """Import a script of the project by its path from the project root, e.g. "hw1-q4.py"
    (file names with dashes cannot be imported by name), once per process. The module is
    registered as, e.g., "hw1_q4"."""
    name = os.path.basename(path).replace("-", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_record(path):
    """A run's JSON record."""
    with open(path) as f:
        return json.load(f)
