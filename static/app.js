// Small progressive enhancements. Everything works without this file; it only adds convenience.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(() => {
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = "已复制 Copied";
    setTimeout(() => { button.textContent = button.dataset.label; }, 1500);
  });
});

// Add to cart from product cards (cart-checkout, web/commerce.py). Article bodies are hx-disable'd and
// their HTML may hold no hx-* attributes (tests/articles/test_sanitize.py checks the filled cards too), so
// the cards' add links are plain links to GET /cart/add (authors cannot set class="add-to-cart-link":
// the sanitiser keeps only href and title on links). Here htmx is asked to swap the small tokened form in
// place of the link, and to post that form when htmx itself does not (inside hx-disable). Without
// JavaScript the link opens the same form as a page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.add-to-cart-link");
  if (!link || !window.htmx || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = link.getAttribute("href") || "";
  if (!href.startsWith("/cart/add?")) return;
  event.preventDefault();
  window.htmx.ajax("GET", href, { source: link, target: link, swap: "outerHTML" });
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.add-to-cart");
  if (!form || !window.htmx || !form.closest("[hx-disable]")) return;
  event.preventDefault();
  window.htmx.ajax("POST", form.getAttribute("action"), { source: form, target: form, swap: "outerHTML" });
});
