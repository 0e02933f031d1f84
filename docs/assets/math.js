// Render the arithmatex spans (\( .. \) inline, \[ .. \] display) with the vendored KaTeX: no network needed.
// Material's instant navigation is off, so rendering once on load covers every page.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
});
