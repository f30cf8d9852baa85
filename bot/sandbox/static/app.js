// Luoshi sandbox chat page. Plain JavaScript, no build step; talks to bot/sandbox/web.py.
"use strict";

(() => {
  const ROLE_GROUPS = { admin: "管理员", leader: "领导", new: "新用户" };
  const ROLE_NAMES = { admin: "管理员", leader: "领导", official: "干部", new: "新用户" };
  const STORAGE_KEY = "luoshi-sandbox-user";
  const OFFLINE = "无法连接沙盒：它可能已停止或正在重启。请确认终端里的沙盒仍在运行。";
  const MAX_UPLOAD = 10 * 1024 * 1024;
  const STATE_REFRESH_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const el = {
    identity: $("identity"),
    clock: $("clock"),
    clockLabel: $("clock-label"),
    chatList: $("chat-list"),
    chatAvatar: $("chat-avatar"),
    chatTitle: $("chat-title"),
    chatSub: $("chat-sub"),
    messages: $("messages"),
    empty: $("empty"),
    replyBar: $("reply-bar"),
    replyText: $("reply-text"),
    replyCancel: $("reply-cancel"),
    composer: $("composer"),
    input: $("input"),
    send: $("send"),
    attach: $("attach"),
    fileInput: $("file-input"),
    uploadDialog: $("upload-dialog"),
    uploadFile: $("upload-file"),
    uploadCaption: $("upload-caption"),
    uploadSend: $("upload-send"),
    uploadCancel: $("upload-cancel"),
    alertDialog: $("alert-dialog"),
    alertText: $("alert-text"),
    alertOk: $("alert-ok"),
    banner: $("banner"),
    toasts: $("toasts"),
    guideDialog: $("guide-dialog"),
    guideOpen: $("guide-open"),
    guideClose: $("guide-close"),
    inviteDialog: $("invite-dialog"),
    inviteCommand: $("invite-command"),
    inviteIdentity: $("invite-identity"),
    inviteOpen: $("invite-open"),
    inviteCancel: $("invite-cancel"),
    resetDialog: $("reset-dialog"),
    resetOpen: $("reset-open"),
    resetConfirm: $("reset-confirm"),
    resetCancel: $("reset-cancel"),
  };

  const state = {
    identities: [],
    identity: null, // {user_id, name, role, unit}
    chats: [], // [{id, title, kind, last_seq, preview}]
    chatId: null,
    messages: new Map(), // message_id -> shaped message of the open chat
    replyTo: null, // shaped message being replied to
    pollGeneration: 0,
    pollAbort: null,
    seen: new Map(), // chat id -> cursor seen while it was open
    pendingFile: null,
    pendingInvite: null,
    botUsername: "",
    cursor: 0, // the largest history seq seen: a smaller one means the sandbox started over
    defaultPlaceholder: el.input.placeholder,
  };

  // ---------------------------------------------------------------- helpers

  async function request(method, path, body, signal) {
    const init = { method, cache: "no-store", headers: {}, signal };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      // The browser's own words ("Failed to fetch") are English and say nothing useful.
      const offline = new Error(OFFLINE);
      offline.offline = true;
      throw offline;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    if (!response.ok) {
      // The server answers "中文 / English": the page shows the Chinese.
      const text = data && typeof data.error === "string" ? data.error.split(" / ")[0] : "";
      const error = new Error(text || `请求失败（HTTP ${response.status}）`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function toast(text, { error = false, duration = 3500 } = {}) {
    const node = document.createElement("div");
    node.className = error ? "toast error" : "toast";
    node.dataset.testid = "toast";
    node.textContent = text;
    keepBottom(() => el.toasts.appendChild(node));
    setTimeout(() => {
      node.classList.add("leaving");
      setTimeout(() => keepBottom(() => node.remove()), 350);
    }, duration);
  }

  // Toasts take their own strip above the composer (they never cover a message): a chat that
  // was scrolled to the end stays at its end when the strip grows or shrinks.
  function keepBottom(change) {
    const stick = nearBottom();
    change();
    if (stick) scrollToBottom();
  }

  function showAlert(text) {
    el.alertText.textContent = text;
    el.alertDialog.hidden = false;
    el.alertOk.focus();
  }

  function avatarText(title) {
    const trimmed = (title || "?").trim();
    return Array.from(trimmed)[0] || "?";
  }

  function formatSize(bytes) {
    if (bytes == null) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function shortText(text, limit = 40) {
    const line = (text || "").replace(/\s+/g, " ").trim();
    return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
  }

  function summary(message) {
    if (message.text) return shortText(message.text);
    if (message.document) return shortText(`[文件] ${message.document.file_name}`);
    if (message.photo) return shortText(message.caption ? `[图片] ${message.caption}` : "[图片]");
    return shortText(message.caption || "");
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    // A page with a folded corner and two lines of text.
    file: ["M14 2.5H6.5a2 2 0 0 0-2 2v15a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V8z", "M14 2.5V8h5.5",
      "M8.5 13h7", "M8.5 17h7"],
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    for (const d of ICONS[name]) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    }
    return svg;
  }

  function currentChat() {
    return state.chats.find((chat) => chat.id === state.chatId) || null;
  }

  // ---------------------------------------------------------------- state: clock, identities

  function setClock(label) {
    if (label && el.clockLabel.textContent !== label) {
      const first = el.clockLabel.textContent === "…";
      el.clockLabel.textContent = label;
      if (!first) {
        el.clock.classList.remove("ticked");
        void el.clock.offsetWidth; // restart the animation
        el.clock.classList.add("ticked");
      }
    }
  }

  function buildIdentityPicker(identities) {
    const groups = [];
    const byLabel = new Map();
    const groupFor = (label) => {
      if (!byLabel.has(label)) {
        const group = { label, items: [] };
        byLabel.set(label, group);
        groups.push(group);
      }
      return byLabel.get(label);
    };
    // Admins, then leaders, then officials by unit, then new users.
    for (const role of ["admin", "leader"]) {
      for (const identity of identities.filter((i) => i.role === role)) {
        groupFor(ROLE_GROUPS[role]).items.push(identity);
      }
    }
    for (const identity of identities.filter((i) => i.role === "official")) {
      groupFor(identity.unit || "干部").items.push(identity);
    }
    for (const identity of identities.filter((i) => !["admin", "leader", "official"].includes(i.role))) {
      groupFor(ROLE_GROUPS.new).items.push(identity);
    }
    el.identity.replaceChildren();
    for (const group of groups) {
      const optgroup = document.createElement("optgroup");
      optgroup.label = group.label;
      for (const identity of group.items) {
        const option = document.createElement("option");
        option.value = String(identity.user_id);
        option.textContent =
          (identity.role === "leader" && identity.unit
            ? `${identity.name}（${identity.unit}）`
            : identity.name) + (identity.channel === "dingtalk" ? " · 钉钉" : "");
        optgroup.appendChild(option);
      }
      el.identity.appendChild(optgroup);
    }
  }

  async function loadState() {
    const query = state.identity ? `?user=${state.identity.user_id}` : "";
    const data = await request("GET", `/api/state${query}`);
    if (data.cursor < state.cursor) {
      dialogs.startedOver();
      return data;
    }
    state.cursor = Math.max(state.cursor, data.cursor);
    if (data.bot && data.bot.username) state.botUsername = data.bot.username;
    setClock(data.now_label);
    if (JSON.stringify(data.identities) !== JSON.stringify(state.identities)) {
      state.identities = data.identities;
      const selected = el.identity.value;
      buildIdentityPicker(data.identities);
      if (selected) el.identity.value = selected;
    }
    if (data.chats && state.identity && query.endsWith(`=${state.identity.user_id}`)) {
      state.chats = data.chats;
      for (const chat of data.chats) {
        // Unread marks start from what there was when this identity was chosen.
        if (!state.seen.has(chat.id)) state.seen.set(chat.id, chat.last_seq);
      }
      renderChatList();
    }
    return data;
  }

  let refreshTimer = null;
  function refreshStateSoon() {
    // After bot activity: the clock may have moved and other chats may have news.
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      loadState().catch(() => {});
    }, 400);
  }

  function pickInitialIdentity() {
    const fromUrl = new URLSearchParams(location.search).get("user");
    const stored = fromUrl || localStorage.getItem(STORAGE_KEY);
    const found = state.identities.find((i) => String(i.user_id) === stored);
    return found || state.identities[0] || null;
  }

  async function switchIdentity(userId) {
    const identity = state.identities.find((i) => i.user_id === userId);
    if (!identity) return;
    state.identity = identity;
    el.identity.value = String(userId);
    try {
      localStorage.setItem(STORAGE_KEY, String(userId));
    } catch (_error) {
      // private browsing: not remembering the identity is fine
    }
    state.chats = [];
    state.seen = new Map();
    const dingtalk = window.LuoshiDingTalk; // dingtalk.js: a 钉钉 identity's chat
    if (dingtalk && identity.channel === "dingtalk") {
      state.pollGeneration += 1;
      if (state.pollAbort) state.pollAbort.abort();
      state.chatId = null;
      clearReply();
      dingtalk.open(identity);
      return;
    }
    if (dingtalk) dingtalk.close();
    await loadState();
    const privateChat = state.chats.find((chat) => chat.kind === "private");
    openChat((privateChat || state.chats[0] || { id: userId }).id);
  }

  // ---------------------------------------------------------------- chat list

  function renderChatList() {
    el.chatList.replaceChildren();
    el.chatList.classList.toggle("single", state.chats.length <= 1);
    for (const chat of state.chats) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = chat.id === state.chatId ? "chat-item active" : "chat-item";
      item.dataset.testid = "chat-item";
      item.dataset.chatId = String(chat.id);
      item.dataset.kind = chat.kind;
      const avatar = document.createElement("span");
      avatar.className = chat.kind === "group" ? "avatar group" : "avatar";
      avatar.textContent = avatarText(chat.title);
      const text = document.createElement("span");
      text.className = "chat-item-text";
      const title = document.createElement("span");
      title.className = "chat-item-title";
      title.textContent = chat.title;
      const preview = document.createElement("span");
      preview.className = "chat-item-preview";
      preview.textContent = chat.preview || (chat.kind === "group" ? "群组" : "机器人");
      text.append(title, preview);
      item.append(avatar, text);
      const seen = state.seen.get(chat.id) ?? chat.last_seq;
      if (chat.id !== state.chatId && chat.last_seq > seen) {
        const dot = document.createElement("span");
        dot.className = "unread-dot";
        dot.title = "有新消息";
        dot.dataset.testid = "unread-dot";
        item.appendChild(dot);
      }
      item.addEventListener("click", () => {
        if (chat.id !== state.chatId) openChat(chat.id);
      });
      el.chatList.appendChild(item);
    }
  }

  // ---------------------------------------------------------------- the open chat

  function openChat(chatId) {
    state.pollGeneration += 1;
    if (state.pollAbort) state.pollAbort.abort();
    state.chatId = chatId;
    state.messages.clear();
    for (const node of el.messages.querySelectorAll(".msg-row, .day-divider")) node.remove();
    el.empty.hidden = true;
    clearReply();
    const chat = currentChat();
    const title = chat ? chat.title : "";
    el.chatTitle.textContent = title;
    el.chatAvatar.textContent = avatarText(title);
    el.chatAvatar.className = chat && chat.kind === "group" ? "avatar group" : "avatar";
    const me = state.identity;
    const who = me ? `${me.name} · ${ROLE_NAMES[me.role] || me.role}${me.unit ? ` · ${me.unit}` : ""}` : "";
    el.chatSub.textContent = chat && chat.kind === "group" ? `群组 · 我是 ${who}` : `机器人 · 我是 ${who}`;
    renderChatList();
    poll(state.pollGeneration);
  }

  async function poll(generation) {
    let since = 0;
    let failures = 0;
    const user = state.identity.user_id;
    const chat = state.chatId;
    while (generation === state.pollGeneration) {
      const controller = new AbortController();
      state.pollAbort = controller;
      // After a failure, ask without waiting: the banner goes as soon as the sandbox answers.
      const wait = since === 0 || failures ? "&wait=0" : "";
      try {
        const data = await request(
          "GET",
          `/api/messages?user=${user}&chat=${chat}&since=${since}${wait}`,
          undefined,
          controller.signal,
        );
        if (generation !== state.pollGeneration) return;
        if (data.cursor < since) {
          dialogs.startedOver();
          return;
        }
        applyMessages(data.messages, data.deleted, since === 0);
        if (since !== 0 && (data.messages.length || data.deleted.length)) refreshStateSoon();
        since = Math.max(since, data.cursor);
        state.cursor = Math.max(state.cursor, since);
        state.seen.set(chat, since);
        if (failures) {
          failures = 0;
          el.banner.hidden = true;
          loadState().catch(() => {});
        }
      } catch (error) {
        if (generation !== state.pollGeneration || error.name === "AbortError") return;
        failures += 1;
        if (error.status === 403 || error.status === 400) {
          toast(error.message, { error: true });
          return;
        }
        el.banner.hidden = false;
        await sleep(Math.min(1000 * failures, 5000));
      }
    }
  }

  function nearBottom() {
    const box = el.messages;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function applyMessages(messages, deleted, initial) {
    const stick = initial || nearBottom();
    let prompt = null;
    let mine = false;
    for (const id of deleted || []) {
      state.messages.delete(id);
      const node = rowFor(id);
      if (node) node.remove();
      if (state.replyTo && state.replyTo.message_id === id) clearReply();
    }
    for (const message of messages) {
      const isNew = !state.messages.has(message.message_id);
      state.messages.set(message.message_id, message);
      if (state.replyTo && state.replyTo.message_id === message.message_id) {
        state.replyTo = message;
      }
      const node = renderMessage(message);
      const old = rowFor(message.message_id);
      if (old) {
        old.replaceWith(node);
      } else {
        insertSorted(node, message.message_id);
      }
      if (isNew && message.outgoing) mine = true;
      if (message.force_reply && (isNew || initial)) prompt = message;
    }
    renderDayDividers();
    el.empty.hidden = state.messages.size > 0;
    const lastId = Math.max(0, ...state.messages.keys());
    if (prompt && prompt.message_id === lastId) {
      setReply(prompt);
      if (prompt.placeholder) el.input.placeholder = prompt.placeholder;
    }
    if (stick || mine) scrollToBottom();
  }

  function rowFor(messageId) {
    return el.messages.querySelector(`.msg-row[data-message-id="${messageId}"]`);
  }

  function insertSorted(node, messageId) {
    const rows = el.messages.querySelectorAll(".msg-row");
    for (const row of rows) {
      if (Number(row.dataset.messageId) > messageId) {
        el.messages.insertBefore(node, row);
        return;
      }
    }
    el.messages.appendChild(node);
  }

  function renderDayDividers() {
    for (const node of el.messages.querySelectorAll(".day-divider")) node.remove();
    let lastDay = null;
    for (const row of el.messages.querySelectorAll(".msg-row")) {
      const message = state.messages.get(Number(row.dataset.messageId));
      if (!message || message.day === lastDay) continue;
      lastDay = message.day;
      const divider = document.createElement("div");
      divider.className = "day-divider";
      const label = document.createElement("span");
      label.textContent = message.day;
      divider.appendChild(label);
      el.messages.insertBefore(divider, row);
    }
  }

  function renderMessage(message) {
    const chat = currentChat();
    const row = document.createElement("div");
    row.className = message.outgoing ? "msg-row out" : "msg-row in";
    row.dataset.testid = "message";
    row.dataset.messageId = String(message.message_id);
    row.dataset.fromBot = String(message.from.is_bot);
    if (state.replyTo && state.replyTo.message_id === message.message_id) {
      row.classList.add("reply-target");
    }

    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.dataset.testid = "message-bubble";
    bubble.title = "点击回复这条消息";

    if (chat && chat.kind === "group" && !message.outgoing) {
      const sender = document.createElement("div");
      sender.className = "sender";
      sender.textContent = message.from.name;
      bubble.appendChild(sender);
    }
    if (message.reply_to) {
      const quote = document.createElement("div");
      quote.className = "quote";
      quote.dataset.testid = "reply-quote";
      quote.dataset.replyTo = String(message.reply_to.message_id);
      const from = document.createElement("span");
      from.className = "quote-from";
      from.textContent = message.reply_to.from;
      const text = document.createElement("span");
      text.className = "quote-text";
      text.textContent = message.reply_to.text;
      quote.append(from, text);
      bubble.appendChild(quote);
    }
    if (message.photo) {
      const link = document.createElement("a");
      link.className = "photo";
      link.href = `/api/file/${encodeURIComponent(message.photo.file_id)}`;
      link.target = "_blank";
      link.rel = "noopener";
      const image = document.createElement("img");
      image.src = link.href;
      image.alt = "图片";
      image.dataset.testid = "message-photo";
      if (message.photo.width && message.photo.height) {
        image.width = message.photo.width;
        image.height = message.photo.height;
        image.style.height = "auto";
      }
      image.addEventListener("load", () => {
        if (nearBottom()) scrollToBottom();
      });
      link.appendChild(image);
      bubble.appendChild(link);
    }
    if (message.document) {
      const link = document.createElement("a");
      link.className = "document";
      link.dataset.testid = "document-link";
      link.href = `/api/file/${encodeURIComponent(message.document.file_id)}`;
      link.download = message.document.file_name;
      const badge = document.createElement("span");
      badge.className = "document-icon";
      badge.appendChild(icon("file"));
      const info = document.createElement("span");
      const name = document.createElement("span");
      name.className = "document-name";
      name.textContent = message.document.file_name;
      const size = document.createElement("span");
      size.className = "document-size";
      size.textContent = `${formatSize(message.document.file_size)} · 点击下载`;
      info.append(name, size);
      link.append(badge, info);
      bubble.appendChild(link);
    }
    // `html` and `caption_html` are rendered by the server from the message entities with
    // everything escaped (bot/sandbox/web.py: entities_to_html), so they are safe markup.
    const body = message.html ?? message.caption_html;
    if (body) {
      const text = document.createElement("div");
      text.className = "text";
      text.dataset.testid = "message-text";
      text.innerHTML = body;
      bubble.appendChild(text);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = message.edited ? `已编辑 ${message.time}` : message.time;
    bubble.appendChild(meta);
    row.appendChild(bubble);

    if (message.buttons && message.buttons.length) {
      const keyboard = document.createElement("div");
      keyboard.className = "keyboard";
      for (const buttons of message.buttons) {
        const line = document.createElement("div");
        line.className = "keyboard-row";
        for (const button of buttons) {
          let node;
          if (button.url) {
            node = document.createElement("a");
            node.href = button.url;
            node.target = "_blank";
            node.rel = "noopener noreferrer";
            node.textContent = `${button.text} ↗`;
          } else {
            node = document.createElement("button");
            node.type = "button";
            node.dataset.data = button.data;
            node.textContent = button.text;
          }
          node.dataset.testid = "inline-button";
          line.appendChild(node);
        }
        keyboard.appendChild(line);
      }
      row.appendChild(keyboard);
    }
    return row;
  }

  // ---------------------------------------------------------------- replying

  function setReply(message) {
    state.replyTo = message;
    const who = message.outgoing ? "自己" : message.from.name;
    el.replyText.textContent = `${who}：${summary(message)}`;
    el.replyBar.hidden = false;
    for (const row of el.messages.querySelectorAll(".msg-row.reply-target")) {
      row.classList.remove("reply-target");
    }
    const row = rowFor(message.message_id);
    if (row) row.classList.add("reply-target");
    el.input.focus();
  }

  function clearReply() {
    state.replyTo = null;
    el.replyBar.hidden = true;
    el.input.placeholder = state.defaultPlaceholder;
    for (const row of el.messages.querySelectorAll(".msg-row.reply-target")) {
      row.classList.remove("reply-target");
    }
  }

  function flashMessage(messageId) {
    const row = rowFor(messageId);
    if (!row) {
      toast("原消息已不在此处");
      return;
    }
    row.scrollIntoView({ block: "center", behavior: "smooth" });
    row.classList.remove("flash");
    void row.offsetWidth;
    row.classList.add("flash");
  }

  // ---------------------------------------------------------------- sending

  async function sendText(text) {
    const body = { user: state.identity.user_id, chat: state.chatId, text };
    if (state.replyTo) body.reply_to = state.replyTo.message_id;
    const data = await request("POST", "/api/send", body);
    clearReply();
    applyMessages([data.message], [], false);
    scrollToBottom();
  }

  async function submitComposer() {
    const text = el.input.value;
    if (!text.trim() || el.send.disabled || !state.identity) return;
    el.send.disabled = true;
    try {
      const dingtalk = window.LuoshiDingTalk;
      if (dingtalk && dingtalk.active()) await dingtalk.send(text);
      else await sendText(text);
      el.input.value = "";
      autoGrow();
    } catch (error) {
      toast(error.message, { error: true });
    } finally {
      el.send.disabled = false;
      el.input.focus();
    }
  }

  function autoGrow() {
    el.input.style.height = "auto";
    el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 120)}px`;
  }

  async function pressButton(node) {
    const row = node.closest(".msg-row");
    if (!row || node.disabled) return;
    node.disabled = true;
    node.classList.add("pressing");
    try {
      const data = await request("POST", "/api/press", {
        user: state.identity.user_id,
        chat: state.chatId,
        message_id: Number(row.dataset.messageId),
        data: node.dataset.data,
      });
      if (data.text) {
        if (data.show_alert) showAlert(data.text);
        else toast(data.text);
      }
      if (data.url) {
        const code = dialogs.inviteCode(data.url);
        if (code !== null) dialogs.openInvite(code);
        else window.open(data.url, "_blank", "noopener");
      }
    } catch (error) {
      toast(error.message, { error: true });
    } finally {
      node.disabled = false;
      node.classList.remove("pressing");
    }
  }

  // ---------------------------------------------------------------- files

  function chooseFile(file) {
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      toast(`文件超过 10 MB：${file.name}`, { error: true });
      return;
    }
    if (file.size === 0) {
      toast("文件为空", { error: true });
      return;
    }
    state.pendingFile = file;
    el.uploadFile.textContent = `${file.name}（${formatSize(file.size)}）`;
    el.uploadCaption.value = "";
    el.uploadDialog.hidden = false;
    el.uploadCaption.focus();
  }

  function readBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(new Error("无法读取文件"));
      reader.readAsDataURL(file);
    });
  }

  async function uploadPending() {
    const file = state.pendingFile;
    if (!file) return;
    el.uploadSend.disabled = true;
    try {
      const content = await readBase64(file);
      const body = {
        user: state.identity.user_id,
        chat: state.chatId,
        filename: file.name,
        content_base64: content,
      };
      const caption = el.uploadCaption.value.trim();
      if (caption) body.caption = caption;
      if (state.replyTo) body.reply_to = state.replyTo.message_id;
      const data = await request("POST", "/api/upload", body);
      closeUpload();
      clearReply();
      applyMessages([data.message], [], false);
      scrollToBottom();
    } catch (error) {
      toast(error.message, { error: true });
    } finally {
      el.uploadSend.disabled = false;
    }
  }

  function closeUpload() {
    state.pendingFile = null;
    el.uploadDialog.hidden = true;
    el.fileInput.value = "";
  }

  // ---------------------------------------------------------------- clock actions

  async function runAction(button) {
    const buttons = document.querySelectorAll(".actions button");
    for (const other of buttons) other.disabled = true;
    button.classList.add("busy");
    try {
      const data = await request("POST", "/api/clock", { action: button.dataset.action });
      setClock(data.now_label);
      toast(data.result || "已完成", { duration: 6000 });
      loadState().catch(() => {});
    } catch (error) {
      toast(error.message, { error: true });
    } finally {
      button.classList.remove("busy");
      for (const other of buttons) other.disabled = false;
    }
  }

  // ---------------------------------------------------------------- guide, invites, reset

  const dialogs = window.LuoshiDialogs({
    el, state, request, toast, switchIdentity, sendText, roleNames: ROLE_NAMES,
  });

  // ---------------------------------------------------------------- events

  el.identity.addEventListener("change", () => {
    switchIdentity(Number(el.identity.value)).catch((error) => toast(error.message, { error: true }));
  });

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitComposer();
  });

  el.input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; never while an input method is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === "Escape" && state.replyTo) {
      clearReply();
    }
  });
  el.input.addEventListener("input", autoGrow);

  el.replyCancel.addEventListener("click", () => {
    clearReply();
    el.input.focus();
  });

  el.messages.addEventListener("click", (event) => {
    const target = event.target;
    const button = target.closest("button[data-data]");
    if (button) {
      pressButton(button);
      return;
    }
    const link = target.closest("a");
    if (link) {
      // An invitation to this bot opens here, as the identity chosen; other links, documents
      // and photos open normally.
      const code = dialogs.inviteCode(link.href);
      if (code !== null) {
        event.preventDefault();
        dialogs.openInvite(code);
      }
      return;
    }
    const command = target.closest(".tg-command");
    if (command && state.identity) {
      sendText(command.dataset.command).catch((error) => toast(error.message, { error: true }));
      return;
    }
    const spoiler = target.closest(".tg-spoiler");
    if (spoiler) {
      spoiler.classList.add("shown");
      return;
    }
    const quote = target.closest(".quote");
    if (quote) {
      flashMessage(Number(quote.dataset.replyTo));
      return;
    }
    const row = target.closest(".msg-row");
    if (!row || !target.closest(".bubble")) return;
    if (String(window.getSelection() || "")) return; // selecting text, not replying
    const message = state.messages.get(Number(row.dataset.messageId));
    if (message) setReply(message);
  });

  el.attach.addEventListener("click", () => el.fileInput.click());
  el.fileInput.addEventListener("change", () => chooseFile(el.fileInput.files[0]));
  el.uploadSend.addEventListener("click", uploadPending);
  el.uploadCancel.addEventListener("click", closeUpload);
  el.uploadCaption.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      uploadPending();
    }
  });
  el.alertOk.addEventListener("click", () => {
    el.alertDialog.hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!el.alertDialog.hidden) el.alertDialog.hidden = true;
    if (!el.uploadDialog.hidden) closeUpload();
    dialogs.escape();
  });

  for (const button of document.querySelectorAll(".actions button")) {
    button.addEventListener("click", () => runAction(button));
  }

  // Drag and drop a file onto the chat to send it.
  el.messages.addEventListener("dragover", (event) => event.preventDefault());
  el.messages.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      chooseFile(event.dataTransfer.files[0]);
    }
  });

  // ---------------------------------------------------------------- start

  async function start() {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await loadState();
        break;
      } catch (_error) {
        el.banner.hidden = false;
        await sleep(Math.min(1000 * attempt, 5000));
      }
    }
    el.banner.hidden = true;
    const notice = dialogs.takeNotice();
    dialogs.showGuideOnce();
    const identity = pickInitialIdentity();
    if (identity) {
      await switchIdentity(identity.user_id).catch((error) => toast(error.message, { error: true }));
    }
    if (notice) toast(notice);
    setInterval(() => {
      loadState().catch(() => {});
    }, STATE_REFRESH_MS);
  }

  start();
})();
