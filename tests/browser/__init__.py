"""Browser tests: JupyterLab and Notebook 7 in headless Chromium (see conftest.py)."""
