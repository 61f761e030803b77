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
