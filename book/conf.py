"""Sphinx configuration of the book; tools/book.py runs it, naming the generated pages' folder in BOOK_SOURCE."""
import os

SOURCE = os.environ["BOOK_SOURCE"]

project = "残差网络（ResNet）：五个框架"
author = "The Five ResNets contributors"
language = "zh_CN"  # Chinese full-text search: Sphinx splits words with jieba
extensions = ["myst_parser", "sphinx_design", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
exclude_patterns = ["_extra", "_mathjax", "figures"]
root_doc = "index"

html_theme = "alabaster"
html_theme_options = {"page_width": "1180px", "sidebar_width": "220px", "show_powered_by": False}
html_title = project
html_static_path = ["_static", os.path.join(SOURCE, "_mathjax")]
html_extra_path = [os.path.join(SOURCE, "_extra")]  # the notebooks, downloadable
html_css_files = ["book.css"]
html_js_files = ["book.js"]
html_copy_source = False
html_show_sourcelink = False
# Served from the site itself: no request leaves the reader's machine.
mathjax_path = "tex-svg-full.js"
mathjax3_config = {"options": {"enableMenu": False}}
html_favicon = "_static/favicon.svg"  # else the browser asks for /favicon.ico, which the site lacks
