// Gửi thông báo: small conveniences; the page works without JavaScript.
"use strict";
(function () {
  const units = Array.from(document.querySelectorAll("#danh-sach-don-vi li"));
  const tools = document.getElementById("cong-cu");
  const filter = document.getElementById("loc-don-vi");
  const count = document.getElementById("da-chon");
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();

  function update() {
    if (!count) return;
    const items = document.querySelectorAll("input[name=item]:checked").length;
    const chosen = document.querySelectorAll("input[name=unit]:checked").length;
    count.textContent = (items || chosen)
      ? `Đã chọn ${items} tin, ${chosen} đơn vị.` : "";
  }
  if (tools && units.length) {
    tools.hidden = false;
    filter.addEventListener("input", () => {
      const q = fold(filter.value.trim());
      for (const li of units) li.hidden = q !== "" && !fold(li.textContent).includes(q);
    });
    const setAll = (value) => {
      for (const li of units) if (!li.hidden) li.querySelector("input").checked = value;
      update();
    };
    document.getElementById("chon-tat-ca").addEventListener("click", () => setAll(true));
    document.getElementById("bo-chon").addEventListener("click", () => setAll(false));
  }
  document.addEventListener("change", update);
  update();
  const form = document.getElementById("form-gui");
  if (form) {
    form.addEventListener("submit", () => {
      const button = document.getElementById("gui");
      // disabled after the submit has been taken, so the form still sends
      setTimeout(() => { button.disabled = true; button.textContent = "Đang gửi…"; }, 0);
    });
  }
})();
