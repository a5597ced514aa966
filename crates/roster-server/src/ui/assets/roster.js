// Progressive enhancement only: every flow works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // Server-rendered dialogs become real modals: focus is trapped and
  // Escape or Cancel goes back to the page.
  for (const dialog of document.querySelectorAll("dialog[open]")) {
    const cancel = dialog.dataset.cancel;
    dialog.close();
    document.querySelectorAll(".backdrop").forEach((b) => b.remove());
    dialog.showModal();
    const first = dialog.querySelector("textarea, input:not([type=hidden]), select, button");
    if (first) first.focus();
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      if (cancel) window.location.assign(cancel);
    });
  }
  // The Duration picker only matters for Implementation Admins; space
  // pickers only for space roles.
  const role = document.querySelector("#invite-role");
  if (role) {
    const sync = () => {
      const value = role.value;
      const duration = document.querySelector("#invite-duration-field");
      const spaces = document.querySelector("#invite-spaces-field");
      if (duration) duration.hidden = value !== "implementation_admin";
      if (spaces) spaces.hidden = !["program_admin", "facilitator", "participant", "sponsor"].includes(value);
    };
    role.addEventListener("change", sync);
    sync();
  }
  // Close an open row menu with Escape.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of document.querySelectorAll("details.menu[open]")) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    }
  });
});
