"""Sphinx configuration: numpydoc for the API, MyST for the Markdown pages,
sphinx-gallery for the examples. Build: ``sphinx-build -W -b html docs docs/_build``."""

import skcmkd

project = "skcmkd"
author = "skcmkd developers"
release = version = skcmkd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "generated/*.examples", "sg_execution_times.rst"]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's metadata-routing setters: their docstrings point into
    # scikit-learn's own glossary
    "exclude-members": "set_fit_request, set_score_request, set_transform_request",
}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Examples are run by the test suite (tests/test_examples.py); the gallery
# renders them as documents without running them a second time.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"^$",
    "plot_gallery": "False",
    "download_all_examples": False,
    "write_computation_times": False,
}

intersphinx_mapping = {}  # no network on the build machines: no cross-project links
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["myst.header"]
