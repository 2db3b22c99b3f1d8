"""Sphinx configuration of the statoptim documentation.

Build with ``docs/build.sh`` (warnings are errors), after ``pip install ".[docs]"``.
"""
import inspect
import os
import re
import warnings

import statoptim

project = "statoptim"
author = "the statoptim developers"
copyright = "the statoptim developers"
release = statoptim.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "examples/README.txt"]
root_doc = "index"

# API reference: one generated page per public object (docs/api.rst).
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
}
# The build must work offline: intersphinx inventories are optional.
if os.environ.get("STATOPTIM_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

# Gallery: docs/examples/*.py, run at build time (each a few seconds).
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "write_computation_times": False,
}

# matplotlib: no display, no font-cache chatter in the build log.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

html_theme = "pydata_sphinx_theme"
html_title = f"statoptim {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False



# --------------------------------------------------------------- API lists
# The API reference lists exactly the public objects: the names in
# statoptim.__all__ and in each subpackage's __all__, read at build time so a
# new public object appears without editing the docs. An object that the top
# level re-exports is documented once, as statoptim.NAME (how users import it);
# the subpackage page links to that page.
SUBPACKAGES = {
    "quantile": "Quantile regression, censored and incomplete data",
    "optim": "Stochastic optimisers and logistic regression",
    "ssvd": "Sparse SVD (FIT-SSVD)",
    "multiview": "Multi-view CP-tensor model and retrieval",
    "datasets": "Data sets and simulation designs",
    "studies": "Studies (the statoptim reproduce command)",
    "exceptions": "Warning classes",
}


def _documentable(obj):
    return inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)


def _write_api_pages(srcdir):
    import importlib

    here = os.path.join(srcdir, "api")
    os.makedirs(here, exist_ok=True)
    top = {id(getattr(statoptim, n)): n for n in statoptim.__all__
           if _documentable(getattr(statoptim, n))}
    pages = {}
    lines = ["statoptim", "=========", "", ".. currentmodule:: statoptim", "",
             ".. automodule:: statoptim", "   :no-members:", "",
             ".. autosummary::", "   :toctree: generated/", ""]
    lines += [f"   {n}" for n in sorted(top.values(), key=str.lower)]
    pages["statoptim"] = lines
    for sub, title in SUBPACKAGES.items():
        mod = importlib.import_module(f"statoptim.{sub}")
        own = [n for n in mod.__all__ if _documentable(getattr(mod, n))
               and id(getattr(mod, n)) not in top]
        shared = [top[id(getattr(mod, n))] for n in mod.__all__
                  if _documentable(getattr(mod, n)) and id(getattr(mod, n)) in top]
        name = f"statoptim.{sub}"
        lines = [f"{name}: {title}", "=" * (len(name) + len(title) + 2), "",
                 f".. automodule:: {name}", "   :no-members:", "",
                 f".. currentmodule:: {name}", ""]
        if own:
            lines += [".. autosummary::", "   :toctree: generated/", ""]
            lines += [f"   {n}" for n in sorted(own, key=str.lower)] + [""]
        if shared:
            lines += ["Also in this subpackage, documented at the top level:", "",
                      ".. autosummary::", ""]
            lines += [f"   ~statoptim.{n}" for n in sorted(shared, key=str.lower)] + [""]
        pages[sub] = lines
    for page, lines in pages.items():
        text = "\n".join(lines) + "\n"
        path = os.path.join(here, f"{page}.rst")
        old = None
        if os.path.exists(path):
            with open(path) as fh:
                old = fh.read()
        if old != text:
            with open(path, "w") as fh:
                fh.write(text)


# Written before Sphinx looks for source files, so autosummary sees them.
_write_api_pages(os.path.dirname(os.path.abspath(__file__)))


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing helpers (set_fit_request, ...) are generated
    # methods whose docstrings point into scikit-learn's own documentation.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


_INLINE = re.compile(r"(``.+?``|:\w+:`[^`]+`|`[^`]+`_?)")
_BAR = re.compile(r"(?<!\\)\|")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[\s,.;:)\]]|$)")


def _plain_text(line):
    """Escape what reStructuredText would misread in plain-text docstrings.

    The docstrings write formulas in plain text (``|g_t|``, ``||x||``) and
    fitted attributes as ``coef_``; reST reads ``|...|`` as a substitution and
    ``name_`` as a hyperlink. Literal spans and roles are left alone.
    """
    parts = _INLINE.split(line)
    for i in range(0, len(parts), 2):
        parts[i] = _TRAILING_UNDERSCORE.sub(r"\1\\_", _BAR.sub(r"\\|", parts[i]))
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines):
    literal_indent = None
    doctest = False
    previous = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if doctest:
            doctest = bool(stripped)
            continue
        if stripped.startswith(">>>"):
            doctest = True
            continue
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if previous.rstrip().endswith("::") and stripped:
            literal_indent = len(previous) - len(previous.lstrip())
            if indent > literal_indent:
                continue
            literal_indent = None
        lines[i] = _plain_text(line)
        if stripped:
            previous = line


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # after numpydoc (priority 500) has turned the sections into reST
    app.connect("autodoc-process-docstring", _escape_docstring, priority=900)
