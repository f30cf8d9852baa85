// Luoshi sandbox page: the first-visit guide, invite links opened in the page, 重置沙盒 and
// starting over. Loaded before app.js, which calls window.LuoshiDialogs with what they need.
"use strict";

window.LuoshiDialogs = ({ el, state, request, toast, switchIdentity, sendText, roleNames }) => {
  const GUIDE_KEY = "luoshi-sandbox-guide-seen";
  const NOTICE_KEY = "luoshi-sandbox-notice";
  const INVITE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

  function showGuide() {
    el.guideDialog.hidden = false;
    el.guideClose.focus();
  }

  function closeGuide() {
    el.guideDialog.hidden = true;
    try {
      localStorage.setItem(GUIDE_KEY, "1");
    } catch (_error) {
      // private browsing: the guide shows again next time, which is fine
    }
  }

  function guideSeen() {
    try {
      return localStorage.getItem(GUIDE_KEY) === "1";
    } catch (_error) {
      return false;
    }
  }

  // The start code of a deep link to this bot (https://t.me/<bot>?start=CODE), else null.
  function inviteCode(href) {
    let url;
    try {
      url = new URL(href, location.href);
    } catch (_error) {
      return null;
    }
    const host = url.hostname.toLowerCase();
    if (!["t.me", "www.t.me", "telegram.me"].includes(host)) return null;
    const name = url.pathname.replace(/^\/+|\/+$/g, "").toLowerCase();
    if (!state.botUsername || name !== state.botUsername.toLowerCase()) return null;
    const code = url.searchParams.get("start");
    return code !== null && INVITE_CODE.test(code) ? code : null;
  }

  function openInvite(code) {
    state.pendingInvite = code;
    el.inviteCommand.textContent = `/start ${code}`;
    el.inviteIdentity.replaceChildren();
    const fresh = state.identities.filter((i) => i.role === "new");
    const others = state.identities.filter((i) => i.role !== "new");
    for (const identity of [...fresh, ...others]) {
      const option = document.createElement("option");
      option.value = String(identity.user_id);
      const role = roleNames[identity.role] || identity.role;
      option.textContent = identity.role === "new"
        ? "新用户（还没绑定的新账号）"
        : `${identity.name}（${[role, identity.unit].filter(Boolean).join(" · ")}）`;
      el.inviteIdentity.appendChild(option);
    }
    el.inviteDialog.hidden = false;
    el.inviteIdentity.focus();
  }

  function closeInvite() {
    state.pendingInvite = null;
    el.inviteDialog.hidden = true;
  }

  async function acceptInvite() {
    const code = state.pendingInvite;
    if (!code) return;
    const userId = Number(el.inviteIdentity.value);
    closeInvite();
    await switchIdentity(userId);
    await sendText(`/start ${code}`);
  }

  async function resetSandbox() {
    el.resetConfirm.disabled = true;
    el.resetCancel.disabled = true;
    el.resetConfirm.classList.add("busy");
    try {
      const data = await request("POST", "/api/reset", {});
      try {
        sessionStorage.setItem(NOTICE_KEY, data.result || "沙盒已重置");
      } catch (_error) {
        // the page reloads without the notice
      }
      location.reload();
    } catch (error) {
      el.resetDialog.hidden = true;
      toast(error.message, { error: true });
    } finally {
      el.resetConfirm.disabled = false;
      el.resetCancel.disabled = false;
      el.resetConfirm.classList.remove("busy");
    }
  }

  // The sandbox started over (重置沙盒, or its saved chats were set aside): what the page
  // holds is gone, so it loads again.
  let reloading = false;
  function startedOver() {
    if (reloading) return;
    reloading = true;
    try {
      sessionStorage.setItem(NOTICE_KEY, "沙盒已重新开始，页面已刷新。");
    } catch (_error) {
      // reload without the notice
    }
    location.reload();
  }

  // A notice saved before the page reloaded (重置沙盒, starting over), once.
  function takeNotice() {
    try {
      const notice = sessionStorage.getItem(NOTICE_KEY);
      sessionStorage.removeItem(NOTICE_KEY);
      return notice;
    } catch (_error) {
      return null;
    }
  }

  function showGuideOnce() {
    if (!guideSeen()) showGuide();
  }

  function escape() {
    if (!el.guideDialog.hidden) closeGuide();
    if (!el.inviteDialog.hidden) closeInvite();
    if (!el.resetDialog.hidden && !el.resetConfirm.disabled) el.resetDialog.hidden = true;
  }

  el.guideOpen.addEventListener("click", showGuide);
  el.guideClose.addEventListener("click", closeGuide);
  el.inviteCancel.addEventListener("click", closeInvite);
  el.inviteOpen.addEventListener("click", () => {
    acceptInvite().catch((error) => toast(error.message, { error: true }));
  });
  el.resetOpen.addEventListener("click", () => {
    el.resetDialog.hidden = false;
    el.resetCancel.focus();
  });
  el.resetCancel.addEventListener("click", () => {
    el.resetDialog.hidden = true;
  });
  el.resetConfirm.addEventListener("click", resetSandbox);

  return { inviteCode, openInvite, startedOver, takeNotice, showGuideOnce, escape };
};
