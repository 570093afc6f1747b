// The theme binds its sidebar toggles to the first .primary-toggle / .secondary-toggle in the
// page: the header's, which sphinx-book-theme hides. The visible buttons in the article header
// did nothing on phones. Forward their clicks to the bound ones. (Loaded by tools/lean_site.py.)
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const [bound, ...others] = document.querySelectorAll(`button.${kind}-toggle`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});

// Display formulas wider than their column scroll sideways (reader.css). Mark those that do,
// so the stylesheet draws a cue, and make them focusable so the keyboard can scroll them. A
// ResizeObserver re-checks a formula when its box changes: on rotation, and when a folded
// solution that holds it opens.
document.addEventListener("DOMContentLoaded", () => {
  const mark = (box) => {
    const wide = box.clientWidth > 0 && box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("math-scroll", wide);
    if (wide) box.setAttribute("tabindex", "0");
    else box.removeAttribute("tabindex");
  };
  const observer = new ResizeObserver((entries) => entries.forEach((entry) => mark(entry.target)));
  document.querySelectorAll(".bd-article div.math").forEach((box) => {
    mark(box);
    observer.observe(box);
  });
});
