"""Re-read a chapter when tools/build.py has executed it again.

Sphinx re-reads a page when its source or one of its noted dependencies is newer than the
last read. tools/build.py rewrites ``_build/.jupyter_cache/stamps/<chapter>.stamp`` each time it
executes a chapter (for example because the shared package changed while the chapter's text
did not), so noting the stamp as a dependency is all it takes to get the new outputs on the page.
"""

from pathlib import Path


def note_stamp(app, docname, source):
    stamp = Path(app.srcdir) / "_build" / ".jupyter_cache" / "stamps" / f"{docname}.stamp"
    if stamp.is_file():
        app.env.note_dependency(str(stamp))


def setup(app):
    app.connect("source-read", note_stamp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
