# Sourced by bin/demo and bin/test: make sure .venv exists with the project installed.
# $1 is the pip extra to install ("" for the app alone, "dev" for the test tools).
ensure_venv() {
  local extra=$1 python=${PYTHON:-python3.11}
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "Python 3.11 is needed: install python3.11 (or set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
  fi
  local stamp=.venv/.installed-${extra:-app}
  # The test tools' install (dev) includes the app's own dependencies.
  [ -z "$extra" ] && [ -f .venv/.installed-dev ] && stamp=.venv/.installed-dev
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing dependencies (pinned in pyproject.toml)..."
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
    touch "$stamp"
  fi
  if ! .venv/bin/python -c "import weasyprint" 2>/dev/null; then
    echo "WeasyPrint cannot load its system libraries. On Debian/Ubuntu run:" >&2
    echo "  sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core" >&2
    exit 1
  fi
}
