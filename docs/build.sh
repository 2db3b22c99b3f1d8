#!/usr/bin/env bash
# Build the documentation site with warnings as errors.
#   pip install ".[docs]" && docs/build.sh        -> docs/_build/html/index.html
# Runs the gallery examples (docs/examples/) and generates the API reference
# from the docstrings of the installed statoptim.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
sphinx-build -W --keep-going -b html docs docs/_build/html "$@"
