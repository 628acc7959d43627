// The approval widget's front end (anywidget ES module; Python side: approval.py).
// Everything shown comes from an actor (untrusted): it is set as textContent, never as
// HTML. The decision goes back as the `comment` and `decision` traits in one save.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: host }) {
  const root = el("div", "llmos-approval");
  const head = el("div", "llmos-approval-head");
  const pre = el("pre", "llmos-approval-content");
  const note = el("div", "llmos-approval-note");
  const comment = el("textarea", "llmos-approval-comment");
  comment.placeholder = "Comment (what should change?)";
  comment.setAttribute("aria-label", "comment");
  const buttons = el("div", "llmos-approval-buttons");
  const approve = el("button", "llmos-approval-approve", "Approve");
  const changes = el("button", "llmos-approval-request", "Request changes");
  approve.type = changes.type = "button";
  buttons.append(approve, changes);
  const status = el("div", "llmos-approval-status");
  root.append(head, pre, note, comment, buttons, status);
  host.appendChild(root);

  function decide(decision) {
    if (model.get("status") !== "pending") return;
    model.set("comment", comment.value);
    model.set("decision", decision);
    model.save_changes();
  }

  function update() {
    const reviewer = model.get("reviewer");
    head.textContent =
      "Proposed change to " + model.get("path") + (reviewer ? " (reviewer: " + reviewer + ")" : "");
    pre.textContent = model.get("content");
    const cut = model.get("truncated");
    note.textContent = cut > 0 ? "… " + cut + " more characters not shown" : "";
    const st = model.get("status");
    const pending = st === "pending";
    approve.disabled = changes.disabled = comment.disabled = !pending;
    if (!pending && model.get("comment") && !comment.value) comment.value = model.get("comment");
    if (pending) status.textContent = "Waiting for your decision.";
    else if (st === "expired") status.textContent = "Expired: " + (model.get("comment") || "no decision in time");
    else if (model.get("decision") === "approve") status.textContent = "Approved.";
    else status.textContent = "Changes requested.";
  }

  const onApprove = () => decide("approve");
  const onChanges = () => decide("request_changes");
  approve.addEventListener("click", onApprove);
  changes.addEventListener("click", onChanges);
  const names = ["reviewer", "path", "content", "truncated", "status", "decision", "comment"];
  for (const n of names) model.on("change:" + n, update);
  update();
  return () => {
    for (const n of names) model.off("change:" + n, update);
    approve.removeEventListener("click", onApprove);
    changes.removeEventListener("click", onChanges);
  };
}

export default { render };
