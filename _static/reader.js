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
